package media

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"time"
)

// EXIF is what the pipeline reads of an image's EXIF block.
type EXIF struct {
	Orientation int       `json:"orientation,omitempty"` // 1..8, TIFF tag 0x0112
	Taken       time.Time `json:"taken,omitzero"`        // DateTimeOriginal, else DateTime
	Make        string    `json:"make,omitempty"`
	Model       string    `json:"model,omitempty"`
}

// jpegEXIF finds the APP1 "Exif" segment of a JPEG and returns its TIFF
// bytes. It reads markers only, at most the first 256 KB.
func jpegEXIF(r io.ReaderAt, size int64) []byte {
	hdr := make([]byte, 4)
	off := int64(2)
	for off+4 <= min(size, 256<<10) {
		if _, err := r.ReadAt(hdr, off); err != nil || hdr[0] != 0xff {
			return nil
		}
		marker := hdr[1]
		if marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 {
			off += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 { // image data starts: no EXIF before it
			return nil
		}
		n := int64(binary.BigEndian.Uint16(hdr[2:]))
		if n < 2 {
			return nil
		}
		if marker == 0xe1 && n > 8 {
			seg := make([]byte, n-2)
			if _, err := r.ReadAt(seg, off+4); err != nil {
				return nil
			}
			if bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
				return seg[6:]
			}
		}
		off += 2 + n
	}
	return nil
}

// riffChunk returns the body of the first chunk with id in a RIFF file
// (WebP's "EXIF"), reading chunk headers only.
func riffChunk(r io.ReaderAt, size int64, id string, maxBody int64) []byte {
	hdr := make([]byte, 8)
	for off := int64(12); off+8 <= size; {
		if _, err := r.ReadAt(hdr, off); err != nil {
			return nil
		}
		n := int64(binary.LittleEndian.Uint32(hdr[4:]))
		if string(hdr[:4]) == id {
			if n > maxBody || off+8+n > size {
				return nil
			}
			b := make([]byte, n)
			if _, err := r.ReadAt(b, off+8); err != nil {
				return nil
			}
			return bytes.TrimPrefix(b, []byte("Exif\x00\x00"))
		}
		off += 8 + n + n&1
	}
	return nil
}

// pngEXIF returns the body of a PNG's eXIf chunk.
func pngEXIF(r io.ReaderAt, size int64) []byte {
	hdr := make([]byte, 8)
	for off := int64(8); off+8 <= size; {
		if _, err := r.ReadAt(hdr, off); err != nil {
			return nil
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		switch string(hdr[4:]) {
		case "eXIf":
			if n > 1<<20 || off+8+n > size {
				return nil
			}
			b := make([]byte, n)
			if _, err := r.ReadAt(b, off+8); err != nil {
				return nil
			}
			return b
		case "IDAT", "IEND":
			return nil
		}
		off += 12 + n
	}
	return nil
}

// parseEXIF reads orientation, time, make and model from TIFF-structured
// EXIF bytes. Every offset is checked against the block, IFD entry counts
// are capped and the IFD chain is followed at most a few steps, so hostile
// bytes can only make it return less.
func parseEXIF(b []byte) (EXIF, bool) {
	var x EXIF
	if len(b) < 8 {
		return x, false
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return x, false
	}
	if bo.Uint16(b[2:]) != 42 {
		return x, false
	}
	var taken, changed string
	var walk func(off uint32, depth int)
	walk = func(off uint32, depth int) {
		if depth > 3 || int64(off)+2 > int64(len(b)) {
			return
		}
		n := int(bo.Uint16(b[off:]))
		if n > 512 {
			return
		}
		for i := 0; i < n; i++ {
			e := int64(off) + 2 + int64(i)*12
			if e+12 > int64(len(b)) {
				return
			}
			tag, typ, count := bo.Uint16(b[e:]), bo.Uint16(b[e+2:]), bo.Uint32(b[e+4:])
			val := b[e+8 : e+12]
			ascii := func() string {
				if typ != 2 || count == 0 || count > 256 {
					return ""
				}
				data := val
				if count > 4 {
					o := bo.Uint32(val)
					if int64(o)+int64(count) > int64(len(b)) {
						return ""
					}
					data = b[o : o+count]
				} else {
					data = val[:count]
				}
				return strings.TrimSpace(strings.TrimRight(string(data), "\x00"))
			}
			switch tag {
			case 0x0112:
				if typ == 3 {
					if o := int(bo.Uint16(val)); o >= 1 && o <= 8 {
						x.Orientation = o
					}
				}
			case 0x010f:
				x.Make = cleanASCII(ascii())
			case 0x0110:
				x.Model = cleanASCII(ascii())
			case 0x0132:
				changed = ascii()
			case 0x9003:
				taken = ascii()
			case 0x8769: // the Exif sub-IFD
				if typ == 4 || typ == 13 {
					walk(bo.Uint32(val), depth+1)
				}
			}
		}
	}
	walk(bo.Uint32(b[4:]), 0)
	for _, s := range []string{taken, changed} {
		if t, err := time.Parse("2006:01:02 15:04:05", s); err == nil {
			x.Taken = t
			break
		}
	}
	return x, x.Orientation != 0 || !x.Taken.IsZero() || x.Make != "" || x.Model != ""
}

func cleanASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}
