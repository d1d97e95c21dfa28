package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/hajimehoshi/go-mp3"
	"github.com/mewkiz/flac"

	"github.com/metastation/metastation/app/errs"
)

// pcm is a decoded audio stream: interleaved samples in [-1, 1].
type pcm interface {
	Rate() int
	Channels() int
	Bits() int         // bits per sample as stored (16 for MP3's output)
	Declared() float64 // seconds the header declares, 0 when unknown
	// Read fills dst with interleaved samples (a multiple of Channels) and
	// returns how many; io.EOF at the end.
	Read(dst []float64) (int, error)
}

// errTruncated marks a stream that ends before its header says it does.
var errTruncated = errors.New("truncated")

// --- WAV ---

// wavReader reads RIFF/WAVE PCM (8, 16, 24, 32-bit integer, 32/64-bit float).
type wavReader struct {
	r        io.Reader
	rate     int
	channels int
	bits     int
	float    bool
	left     int64 // bytes of the data chunk not yet read
	declared float64
	buf      []byte
}

// openWAV reads the header chunks up to "data". The data chunk's declared
// size is checked against the file, so a truncated file is refused before
// any sample is read.
func openWAV(r io.ReaderAt, size int64) (*wavReader, error) {
	hdr := make([]byte, 12)
	if _, err := r.ReadAt(hdr, 0); err != nil || string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WAVE" {
		return nil, errs.Errorf(errs.Invalid, "the WAV file's RIFF header is damaged")
	}
	w := &wavReader{}
	off := int64(12)
	ch := make([]byte, 8)
	for {
		if _, err := r.ReadAt(ch, off); err != nil {
			return nil, errs.Errorf(errs.Invalid, "the WAV file is truncated: it ends before its audio data")
		}
		id, n := string(ch[:4]), int64(binary.LittleEndian.Uint32(ch[4:]))
		body := off + 8
		switch id {
		case "fmt ":
			if n < 16 || n > 1024 {
				return nil, errs.Errorf(errs.Invalid, "the WAV file's format chunk is damaged")
			}
			f := make([]byte, n)
			if _, err := r.ReadAt(f, body); err != nil {
				return nil, errs.Errorf(errs.Invalid, "the WAV file is truncated in its format chunk")
			}
			tag := binary.LittleEndian.Uint16(f)
			w.channels = int(binary.LittleEndian.Uint16(f[2:]))
			w.rate = int(binary.LittleEndian.Uint32(f[4:]))
			w.bits = int(binary.LittleEndian.Uint16(f[14:]))
			if tag == 0xfffe && n >= 26 {
				tag = binary.LittleEndian.Uint16(f[24:]) // WAVE_FORMAT_EXTENSIBLE: the sub-format
			}
			switch {
			case tag == 1 && (w.bits == 8 || w.bits == 16 || w.bits == 24 || w.bits == 32):
			case tag == 3 && (w.bits == 32 || w.bits == 64):
				w.float = true
			default:
				return nil, errs.Errorf(errs.Invalid, "the WAV file's encoding (format %d, %d bits) is not PCM; only PCM and float WAV are read", tag, w.bits)
			}
			if w.channels < 1 || w.channels > 16 || w.rate < 1000 || w.rate > 768000 {
				return nil, errs.Errorf(errs.Invalid, "the WAV file declares %d channels at %d Hz, which is not audio that is read", w.channels, w.rate)
			}
		case "data":
			if w.rate == 0 {
				return nil, errs.Errorf(errs.Invalid, "the WAV file has audio data before its format chunk")
			}
			if n == 0xffffffff || n == 0 { // streamed: the data runs to the end of the file
				n = size - body
			}
			if body+n > size {
				return nil, errs.Errorf(errs.Invalid, "the WAV file is truncated: its data chunk declares %s but the file ends after %s",
					humanBytes(n), humanBytes(size-body))
			}
			frame := int64(w.channels * w.bits / 8)
			w.left = n - n%frame
			w.declared = float64(w.left/frame) / float64(w.rate)
			w.r = io.NewSectionReader(r, body, w.left)
			return w, nil
		}
		off = body + n + n&1
		if off > size {
			return nil, errs.Errorf(errs.Invalid, "the WAV file is truncated: it ends before its audio data")
		}
	}
}

func (w *wavReader) Rate() int         { return w.rate }
func (w *wavReader) Channels() int     { return w.channels }
func (w *wavReader) Bits() int         { return w.bits }
func (w *wavReader) Declared() float64 { return w.declared }

func (w *wavReader) Read(dst []float64) (int, error) {
	bps := w.bits / 8
	n := len(dst) - len(dst)%w.channels
	if cap(w.buf) < n*bps {
		w.buf = make([]byte, n*bps)
	}
	b := w.buf[:n*bps]
	got, err := io.ReadFull(w.r, b)
	got -= got % (bps * w.channels)
	if got == 0 {
		if err == nil || err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return 0, err
	}
	for i := 0; i < got/bps; i++ {
		s := b[i*bps:]
		switch {
		case w.float && bps == 4:
			dst[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(s)))
		case w.float:
			dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(s))
		case bps == 1:
			dst[i] = (float64(s[0]) - 128) / 128
		case bps == 2:
			dst[i] = float64(int16(binary.LittleEndian.Uint16(s))) / 32768
		case bps == 3:
			v := int32(uint32(s[0])<<8|uint32(s[1])<<16|uint32(s[2])<<24) >> 8
			dst[i] = float64(v) / 8388608
		default:
			dst[i] = float64(int32(binary.LittleEndian.Uint32(s))) / 2147483648
		}
	}
	return got / bps, nil
}

// --- MP3 ---

// mp3Reader decodes MPEG audio with hajimehoshi/go-mp3 (pure Go), which
// always yields 16-bit stereo.
type mp3Reader struct {
	d        *mp3.Decoder
	declared float64
	buf      []byte
}

func openMP3(r io.ReaderAt, size int64) (*mp3Reader, error) {
	d, err := mp3.NewDecoder(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the MP3 file is damaged: no MPEG audio frame could be decoded")
	}
	m := &mp3Reader{d: d}
	if d.SampleRate() <= 0 {
		return nil, errs.Errorf(errs.Invalid, "the MP3 file declares no sample rate")
	}
	if n := d.Length(); n > 0 {
		m.declared = float64(n) / 4 / float64(d.SampleRate())
	}
	return m, nil
}

func (m *mp3Reader) Rate() int         { return m.d.SampleRate() }
func (m *mp3Reader) Channels() int     { return 2 }
func (m *mp3Reader) Bits() int         { return 16 }
func (m *mp3Reader) Declared() float64 { return m.declared }

func (m *mp3Reader) Read(dst []float64) (int, error) {
	n := len(dst) &^ 1
	if cap(m.buf) < 2*n {
		m.buf = make([]byte, 2*n)
	}
	b := m.buf[:2*n]
	got := 0
	var err error
	for got < len(b) && err == nil {
		var k int
		k, err = m.d.Read(b[got:])
		got += k
	}
	got &^= 3
	for i := 0; i < got/2; i++ {
		dst[i] = float64(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	if got == 0 {
		if err == nil {
			err = io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("mp3: %w: the last frame is cut", errTruncated)
		}
		return 0, err
	}
	return got / 2, nil
}

// --- FLAC ---

// flacReader decodes FLAC with mewkiz/flac (pure Go), frame by frame.
type flacReader struct {
	s       *flac.Stream
	buf     []float64
	pending []float64
	decoded uint64
}

func openFLAC(r io.ReaderAt, size int64) (*flacReader, error) {
	s, err := flac.New(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the FLAC file's header is damaged or truncated")
	}
	i := s.Info
	if i.SampleRate == 0 || i.NChannels == 0 || i.BitsPerSample == 0 {
		return nil, errs.Errorf(errs.Invalid, "the FLAC file's stream information is damaged")
	}
	if i.BlockSizeMax > 16384 && i.BlockSizeMax != 65535 {
		return nil, errs.Errorf(errs.Invalid, "the FLAC file declares blocks of %d samples", i.BlockSizeMax)
	}
	return &flacReader{s: s}, nil
}

func (f *flacReader) Rate() int     { return int(f.s.Info.SampleRate) }
func (f *flacReader) Channels() int { return int(f.s.Info.NChannels) }
func (f *flacReader) Bits() int     { return int(f.s.Info.BitsPerSample) }
func (f *flacReader) Declared() float64 {
	return float64(f.s.Info.NSamples) / float64(f.s.Info.SampleRate)
}

func (f *flacReader) Read(dst []float64) (int, error) {
	if len(f.pending) == 0 {
		fr, err := f.s.ParseNext()
		if err == io.EOF {
			if n := f.s.Info.NSamples; n > 0 && f.decoded < n {
				return 0, fmt.Errorf("flac: %w: %d of %d samples", errTruncated, f.decoded, n)
			}
			return 0, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("flac: %w: %d of %d samples", errTruncated, f.decoded, f.s.Info.NSamples)
		}
		if err != nil {
			return 0, fmt.Errorf("flac frame: %w", err)
		}
		nch := len(fr.Subframes)
		if nch != f.Channels() {
			return 0, fmt.Errorf("flac frame: %d channels, stream has %d", nch, f.Channels())
		}
		bs := int(fr.BlockSize)
		f.pending = f.buf[:0]
		scale := math.Ldexp(1, int(f.s.Info.BitsPerSample)-1)
		for i := 0; i < bs; i++ {
			for c := 0; c < nch; c++ {
				if i >= len(fr.Subframes[c].Samples) {
					return 0, fmt.Errorf("flac frame: short subframe")
				}
				f.pending = append(f.pending, float64(fr.Subframes[c].Samples[i])/scale)
			}
		}
		f.buf = f.pending[:0]
		f.decoded += uint64(bs)
	}
	n := copy(dst[:len(dst)-len(dst)%f.Channels()], f.pending)
	f.pending = f.pending[n:]
	return n, nil
}
