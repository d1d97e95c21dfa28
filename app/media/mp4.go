package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// VideoInfo describes a clip.
type VideoInfo struct {
	Container  string  `json:"container"` // mp4, mov, gif
	Brand      string  `json:"brand,omitempty"`
	Seconds    float64 `json:"seconds"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	FPS        float64 `json:"fps"`
	Frames     int     `json:"frames"`
	Keyframes  int     `json:"keyframes"`
	VideoCodec string  `json:"video_codec,omitempty"`
	AudioCodec string  `json:"audio_codec,omitempty"`
	Tracks     []Track `json:"tracks,omitempty"`
}

// Track is one track of an MP4/MOV file.
type Track struct {
	Kind      string  `json:"kind"` // video, audio, other handler code
	Codec     string  `json:"codec"`
	Seconds   float64 `json:"seconds"`
	Width     int     `json:"width,omitempty"`
	Height    int     `json:"height,omitempty"`
	Samples   int     `json:"samples"`
	Keyframes int     `json:"keyframes,omitempty"`
	Rate      int     `json:"sample_rate,omitempty"` // audio
}

var errBox = errors.New("malformed MP4 box")

// box is one ISO BMFF box found in a buffer.
type box struct {
	typ  string
	body []byte
}

// boxes splits b into its boxes; any size that runs past b is an error.
func boxes(b []byte) ([]box, error) {
	var out []box
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, errBox
		}
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch size {
		case 1:
			if len(b) < 16 {
				return nil, errBox
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		case 0:
			size = uint64(len(b))
		}
		if size < hdr || size > uint64(len(b)) {
			return nil, errBox
		}
		out = append(out, box{typ, b[hdr:size]})
		b = b[size:]
		if len(out) > 100_000 {
			return nil, errBox
		}
	}
	return out, nil
}

// mp4Top walks the top-level boxes of a file by their headers, seeking over
// media data, and returns the brand and the moov box's bytes (at most
// maxMoov). A box that runs past the end of the file means the file is
// truncated.
func mp4Top(r io.ReaderAt, size, maxMoov int64) (brand string, moov []byte, fragmented bool, err error) {
	hdr := make([]byte, 16)
	for off := int64(0); off < size; {
		if size-off < 8 {
			return "", nil, false, fmt.Errorf("%w: %d stray bytes at the end", errTruncated, size-off)
		}
		if _, err := r.ReadAt(hdr[:8], off); err != nil {
			return "", nil, false, errTruncated
		}
		bs := int64(binary.BigEndian.Uint32(hdr))
		typ := string(hdr[4:8])
		h := int64(8)
		switch bs {
		case 1:
			if _, err := r.ReadAt(hdr[8:16], off+8); err != nil {
				return "", nil, false, errTruncated
			}
			bs, h = int64(binary.BigEndian.Uint64(hdr[8:])), 16
		case 0:
			bs = size - off
		}
		if bs < h {
			return "", nil, false, errBox
		}
		if off+bs > size {
			return "", nil, false, fmt.Errorf("%w: the %q box runs %d bytes past the end", errTruncated, typ, off+bs-size)
		}
		switch typ {
		case "ftyp":
			b := make([]byte, min(bs-h, 4))
			if _, err := r.ReadAt(b, off+h); err == nil {
				brand = string(b)
			}
		case "moov":
			if bs-h > maxMoov {
				return "", nil, false, fmt.Errorf("moov box of %d bytes", bs-h)
			}
			moov = make([]byte, bs-h)
			if _, err := r.ReadAt(moov, off+h); err != nil {
				return "", nil, false, errTruncated
			}
		case "moof":
			fragmented = true
		}
		off += bs
	}
	return brand, moov, fragmented, nil
}

// parseMoov reads the tracks of a moov box.
func parseMoov(moov []byte, maxDepth int) (*VideoInfo, error) {
	v := &VideoInfo{}
	top, err := boxes(moov)
	if err != nil {
		return nil, err
	}
	for _, b := range top {
		switch b.typ {
		case "mvhd":
			ts, dur, err := timeHeader(b.body)
			if err != nil {
				return nil, err
			}
			if ts > 0 {
				v.Seconds = round3(float64(dur) / float64(ts))
			}
		case "trak":
			t, err := parseTrak(b.body, maxDepth-1)
			if err != nil {
				return nil, err
			}
			v.Tracks = append(v.Tracks, t)
		}
	}
	for _, t := range v.Tracks {
		switch {
		case t.Kind == "video" && v.VideoCodec == "":
			v.VideoCodec, v.Width, v.Height, v.Frames, v.Keyframes = t.Codec, t.Width, t.Height, t.Samples, t.Keyframes
			if t.Seconds > 0 {
				v.FPS = round3(float64(t.Samples) / t.Seconds)
			}
			if v.Seconds == 0 {
				v.Seconds = t.Seconds
			}
		case t.Kind == "audio" && v.AudioCodec == "":
			v.AudioCodec = t.Codec
		}
	}
	return v, nil
}

// timeHeader reads the timescale and duration of an mvhd or mdhd box.
func timeHeader(b []byte) (timescale uint32, duration uint64, err error) {
	if len(b) < 4 {
		return 0, 0, errBox
	}
	if b[0] == 1 {
		if len(b) < 32 {
			return 0, 0, errBox
		}
		return binary.BigEndian.Uint32(b[20:]), binary.BigEndian.Uint64(b[24:]), nil
	}
	if len(b) < 20 {
		return 0, 0, errBox
	}
	return binary.BigEndian.Uint32(b[12:]), uint64(binary.BigEndian.Uint32(b[16:])), nil
}

func parseTrak(b []byte, depth int) (Track, error) {
	var t Track
	if depth <= 0 {
		return t, errBox
	}
	var walk func(b []byte, depth int) error
	walk = func(b []byte, depth int) error {
		if depth <= 0 {
			return errBox
		}
		bs, err := boxes(b)
		if err != nil {
			return err
		}
		for _, x := range bs {
			switch x.typ {
			case "mdia", "minf", "stbl":
				if err := walk(x.body, depth-1); err != nil {
					return err
				}
			case "tkhd":
				off := 76
				if len(x.body) > 0 && x.body[0] == 1 {
					off = 88
				}
				if len(x.body) >= off+8 {
					t.Width = int(binary.BigEndian.Uint32(x.body[off:]) >> 16)
					t.Height = int(binary.BigEndian.Uint32(x.body[off+4:]) >> 16)
				}
			case "mdhd":
				ts, dur, err := timeHeader(x.body)
				if err != nil {
					return err
				}
				if ts > 0 {
					t.Seconds = round3(float64(dur) / float64(ts))
				}
			case "hdlr":
				if len(x.body) < 12 {
					return errBox
				}
				switch h := string(x.body[8:12]); h {
				case "vide":
					t.Kind = "video"
				case "soun":
					t.Kind = "audio"
				default:
					t.Kind = cleanASCII(h)
				}
			case "stsd":
				if len(x.body) < 16 {
					return errBox
				}
				entry := x.body[8:]
				n := binary.BigEndian.Uint32(entry)
				if n < 8 || int(n) > len(entry) {
					return errBox
				}
				t.Codec = cleanASCII(string(entry[4:8]))
				e := entry[8:n]
				if t.Kind == "video" && len(e) >= 28 {
					if w, h := int(binary.BigEndian.Uint16(e[24:])), int(binary.BigEndian.Uint16(e[26:])); w > 0 && h > 0 {
						t.Width, t.Height = w, h
					}
				}
				if t.Kind == "audio" && len(e) >= 28 {
					t.Rate = int(binary.BigEndian.Uint32(e[24:]) >> 16)
				}
			case "stts":
				n, err := tableCount(x.body, 8)
				if err != nil {
					return err
				}
				total := 0
				for i := 0; i < n; i++ {
					total += int(binary.BigEndian.Uint32(x.body[8+8*i:]))
					if total > 1<<31-1 || total < 0 {
						return errBox
					}
				}
				t.Samples = total
			case "stss":
				n, err := tableCount(x.body, 4)
				if err != nil {
					return err
				}
				t.Keyframes = n
			}
		}
		return nil
	}
	if err := walk(b, depth); err != nil {
		return t, err
	}
	if t.Kind == "video" && t.Keyframes == 0 {
		t.Keyframes = t.Samples // no stss: every sample is a sync sample
	}
	return t, nil
}

// tableCount reads a full box's entry count and checks that its entries of
// entrySize bytes fit in the box.
func tableCount(b []byte, entrySize int) (int, error) {
	if len(b) < 8 {
		return 0, errBox
	}
	n := int64(binary.BigEndian.Uint32(b[4:]))
	if n*int64(entrySize) > int64(len(b)-8) {
		return 0, errBox
	}
	return int(n), nil
}
