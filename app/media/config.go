package media

import (
	"os/exec"
	"time"
)

// Limits bound what one item may cost. Each is checked as early as it can
// be: the upload's size while it is spooled, pixel and frame counts from
// headers before decoding, durations from headers before decoding audio.
type Limits struct {
	MaxUpload int64          // bytes of any one file; default 512 MB
	MaxBytes  map[Kind]int64 // bytes per kind; defaults below
	MaxPixels int64          // width × height of an image or a video frame; default 40 MP
	// MaxGIFFrames × pixels is what decoding an animated GIF costs; both are
	// read from the file's blocks before any frame is decoded.
	MaxGIFFrames     int     // default 2000
	MaxGIFPixelsAll  int64   // sum of pixels over all frames; default 200 MP
	MaxPDFPages      int     // default 2000
	MaxInflate       int64   // bytes one compressed PDF stream may expand to; default 64 MB
	MaxInflateRatio  int64   // expansion ratio of one stream past 1 MB; default 200
	MaxAudioSeconds  float64 // default 3 hours
	MaxVideoSeconds  float64 // default 6 hours
	MaxText          int     // bytes of extracted text kept; default 8 MB
	MaxChunks        int     // memories one item writes; default 4000
	MaxBoxDepth      int     // MP4 box nesting; default 12
	MaxMoov          int64   // bytes of an MP4's moov box; default 64 MB
	MaxColumns       int     // columns of a table; default 1000
	MaxJSONDepth     int     // nesting of a JSON document; default 64
	MaxParquetValues int64   // rows × columns a Parquet file may declare; default 200 M
	MaxOCRPages      int     // pages of a scanned PDF read by OCR; default 10
}

// DefaultMaxBytes are the default size caps per kind.
var defaultMaxBytes = map[Kind]int64{
	Text:  64 << 20,
	Image: 64 << 20,
	Audio: 512 << 20,
	Video: 512 << 20,
	Data:  512 << 20,
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxUpload, 512<<20)
	m := map[Kind]int64{}
	for k, v := range defaultMaxBytes {
		m[k] = v
	}
	for k, v := range l.MaxBytes {
		if v > 0 {
			m[k] = v
		}
	}
	l.MaxBytes = m
	def(&l.MaxPixels, 40_000_000)
	defi(&l.MaxGIFFrames, 2000)
	def(&l.MaxGIFPixelsAll, 200_000_000)
	defi(&l.MaxPDFPages, 2000)
	def(&l.MaxInflate, 64<<20)
	def(&l.MaxInflateRatio, 200)
	if l.MaxAudioSeconds <= 0 {
		l.MaxAudioSeconds = 3 * 3600
	}
	if l.MaxVideoSeconds <= 0 {
		l.MaxVideoSeconds = 6 * 3600
	}
	defi(&l.MaxText, 8<<20)
	defi(&l.MaxChunks, 4000)
	defi(&l.MaxBoxDepth, 12)
	def(&l.MaxMoov, 64<<20)
	defi(&l.MaxColumns, 1000)
	defi(&l.MaxJSONDepth, 64)
	def(&l.MaxParquetValues, 200_000_000)
	defi(&l.MaxOCRPages, 10)
	return l
}

// Tools are the Debian programs the pipeline uses when they are installed.
// An empty path means absent; the item's notes then say what was skipped.
type Tools struct {
	Tesseract string // OCR of images
	FFmpeg    string // video thumbnails and scene frames
	FFprobe   string // video streams the box parser does not read (frame rate of odd files)
	Pdftoppm  string // poppler: pages of a scanned PDF as pictures, for OCR
}

// FindTools looks the tools up on PATH.
func FindTools() Tools {
	look := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			return ""
		}
		return p
	}
	return Tools{Tesseract: look("tesseract"), FFmpeg: look("ffmpeg"), FFprobe: look("ffprobe"), Pdftoppm: look("pdftoppm")}
}

// Config tunes a Pipeline. Zero fields take the defaults.
type Config struct {
	Dir    string // where originals are kept (and uploads spooled); required
	Agent  string // whose memories the documents become; default "library"
	Limits Limits
	// ItemTimeout bounds the work on one item, external tools included;
	// default 2 minutes.
	ItemTimeout time.Duration
	// ToolTimeout bounds one run of an external tool; default 30 s.
	ToolTimeout time.Duration
	Tools       Tools // default FindTools(); set NoTools to use none
	NoTools     bool
	ChunkBytes  int // target bytes of a text chunk; default 1200
	Now         func() time.Time
	// FreeBytes reports the space free on the disk holding Dir, and
	// whether it could tell; nil skips the disk check of CheckSpace.
	FreeBytes func(dir string) (uint64, bool)
}

// SpaceReserve is what CheckSpace keeps free beyond an upload's own bytes:
// its pictures, text and memories, and the database's growth.
const SpaceReserve = 64 << 20

func (c Config) withDefaults() Config {
	if c.Agent == "" {
		c.Agent = "library"
	}
	c.Limits = c.Limits.withDefaults()
	if c.ItemTimeout <= 0 {
		c.ItemTimeout = 2 * time.Minute
	}
	if c.ToolTimeout <= 0 {
		c.ToolTimeout = 30 * time.Second
	}
	if c.NoTools {
		c.Tools = Tools{}
	} else if c.Tools == (Tools{}) {
		c.Tools = FindTools()
	}
	if c.ChunkBytes <= 0 {
		c.ChunkBytes = 1200
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
