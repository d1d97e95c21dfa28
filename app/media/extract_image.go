package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	_ "image/jpeg" // registers JPEG for image.Decode
	_ "image/png"  // registers PNG
	"io"
	"strings"

	_ "golang.org/x/image/webp" // registers WebP

	"github.com/metastation/metastation/app/errs"
)

// ImageInfo describes a picture.
type ImageInfo struct {
	Width       int           `json:"width"`
	Height      int           `json:"height"`
	Orientation int           `json:"orientation,omitempty"` // EXIF 1..8; width and height are as stored
	EXIF        *EXIF         `json:"exif,omitempty"`
	Histogram   [3][8]float64 `json:"histogram"`  // R, G, B: 8 bins each, shares
	Brightness  float64       `json:"brightness"` // mean luma 0..1
	Colours     []Colour      `json:"colours"`
	PHash       string        `json:"phash"`            // 16 hex digits
	Frames      int           `json:"frames,omitempty"` // a GIF's
	OCRWords    int           `json:"ocr_words,omitempty"`
}

// thumbSize is the longest side of a thumbnail.
const thumbSize = 320

// extractImage reads a PNG, JPEG, GIF or WebP. The dimensions come from the
// header and are checked against Limits.MaxPixels before a pixel is
// decoded; a GIF's frames are counted from its blocks first. An animated GIF
// is an item of kind video (its first frame is the picture).
func (p *Pipeline) extractImage(ctx context.Context, f io.ReaderAt, size int64, format Format) (*extracted, error) {
	lim := p.cfg.Limits
	cfg, _, err := image.DecodeConfig(io.NewSectionReader(f, 0, size))
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the %s image is damaged or truncated: its header could not be read", strings.ToUpper(string(format)))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, errs.Errorf(errs.Invalid, "the image declares no pixels (%d × %d)", cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return nil, errs.Errorf(errs.Invalid, "the image declares %d × %d = %.1f megapixels; at most %.1f are decoded (a decompression bomb or a huge scan)",
			cfg.Width, cfg.Height, float64(px)/1e6, float64(lim.MaxPixels)/1e6)
	}
	info := &ImageInfo{Width: cfg.Width, Height: cfg.Height}
	kind := Image
	var anim gifFrames
	if format == GIF {
		anim, err = scanGIF(io.NewSectionReader(f, 0, size), lim.MaxGIFFrames)
		if err != nil {
			return nil, errs.Errorf(errs.Invalid, "the GIF is damaged or truncated")
		}
		if anim.Frames > lim.MaxGIFFrames {
			return nil, errs.Errorf(errs.Invalid, "the GIF has more than %d frames", lim.MaxGIFFrames)
		}
		if anim.Pixels > lim.MaxGIFPixelsAll {
			return nil, errs.Errorf(errs.Invalid, "the GIF's %d frames hold %.0f megapixels in all; at most %.0f are read (a decompression bomb)",
				anim.Frames, float64(anim.Pixels)/1e6, float64(lim.MaxGIFPixelsAll)/1e6)
		}
		if anim.Frames == 0 {
			return nil, errs.Errorf(errs.Invalid, "the GIF has no frames")
		}
		info.Frames = anim.Frames
		if anim.Frames > 1 {
			kind = Video
		}
	}
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	var img image.Image
	if format == GIF {
		img, err = gif.Decode(io.NewSectionReader(f, 0, size)) // the first frame only
	} else {
		img, _, err = image.Decode(io.NewSectionReader(f, 0, size))
	}
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the %s image is damaged or truncated: its pixels could not be decoded", strings.ToUpper(string(format)))
	}
	var raw []byte
	switch format {
	case JPEG:
		raw = jpegEXIF(f, size)
	case PNG:
		raw = pngEXIF(f, size)
	case WEBP:
		raw = riffChunk(f, size, "EXIF", 1<<20)
	}
	if x, ok := parseEXIF(raw); ok {
		info.EXIF = &x
		info.Orientation = x.Orientation
	}
	upright := orient(scaled(img, 1024), info.Orientation)
	small := scaled(upright, 256)
	info.Histogram, info.Brightness, info.Colours = histogram(small)
	h := pHash(upright)
	info.PHash = fmt.Sprintf("%016x", h)
	thumb, err := encodeJPEG(flatten(scaled(upright, thumbSize)))
	if err != nil {
		return nil, fmt.Errorf("media: thumbnail: %w", err)
	}
	ex := &extracted{kind: kind, part: "ocr", info: Info{Image: info}, phash: &h,
		assets: []Asset{{Name: "thumb", MIME: "image/jpeg", Data: thumb}}}
	if kind == Video {
		ex.info.Video = &VideoInfo{Container: "gif", VideoCodec: "gif", Width: cfg.Width, Height: cfg.Height, Frames: anim.Frames, Seconds: round3(anim.Seconds), Keyframes: anim.Frames}
		if anim.Seconds > 0 {
			ex.info.Video.FPS = round3(float64(anim.Frames) / anim.Seconds)
		}
	}
	ocr := p.ocr(ctx, img, info, &ex.info)
	if ocr != "" {
		ex.pages = []page{{text: ocr}}
	}
	ex.summary, ex.desc = describeImage(format, kind, info, ocr)
	return ex, nil
}

// ocr reads the text in a picture with tesseract, when it is installed.
func (p *Pipeline) ocr(ctx context.Context, img image.Image, info *ImageInfo, notes *Info) string {
	if p.cfg.Tools.Tesseract == "" {
		notes.Notes = append(notes.Notes, "Tesseract is not installed, so no text was read from the picture (apt-get install tesseract-ocr).")
		return ""
	}
	// Tesseract reads a PNG from stdin; a large picture is shrunk to 3000
	// pixels first (more adds time, not words).
	src := orient(scaled(img, 3000), info.Orientation)
	png, err := encodePNG(flatten(src))
	if err != nil {
		notes.Notes = append(notes.Notes, "The picture could not be handed to tesseract.")
		return ""
	}
	out, err := runTool(ctx, p.cfg.ToolTimeout, p.cfg.Tools.Tesseract, bytes.NewReader(png), "stdin", "stdout", "--psm", "3")
	if err != nil {
		p.log.Warn("media: tesseract failed", "err", err)
		notes.Notes = append(notes.Notes, "Tesseract could not read text from the picture: "+err.Error()+".")
		return ""
	}
	text := tidyText(strings.ToValidUTF8(string(out), ""))
	text = cutUTF8(text, p.cfg.Limits.MaxText)
	info.OCRWords = len(strings.Fields(text))
	if info.OCRWords == 0 {
		notes.Notes = append(notes.Notes, "Tesseract found no text in the picture.")
	}
	return text
}

func describeImage(format Format, kind Kind, info *ImageInfo, ocr string) (summary, desc string) {
	w, h := info.Width, info.Height
	if info.Orientation >= 5 {
		w, h = h, w
	}
	shape := "square"
	switch {
	case w > h*11/10:
		shape = "landscape"
	case h > w*11/10:
		shape = "portrait"
	}
	what := "Picture"
	if kind == Video {
		what = "Animated GIF"
	}
	summary = fmt.Sprintf("%s %d × %d %s", what, w, h, strings.ToUpper(string(format)))
	if kind == Video {
		summary += fmt.Sprintf(", %d frames", info.Frames)
	}
	var names []string
	for _, c := range info.Colours {
		names = append(names, c.Name)
	}
	light := "bright"
	switch {
	case info.Brightness < 0.3:
		light = "dark"
	case info.Brightness < 0.6:
		light = "medium-bright"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s image, %s", summary, shape, light)
	if len(names) > 0 {
		fmt.Fprintf(&b, ", mostly %s", joinAnd(names))
	}
	if x := info.EXIF; x != nil {
		if !x.Taken.IsZero() {
			fmt.Fprintf(&b, ", taken %s", x.Taken.Format("2 January 2006 15:04"))
		}
		if x.Make != "" || x.Model != "" {
			fmt.Fprintf(&b, " with a %s", strings.TrimSpace(x.Make+" "+x.Model))
		}
	}
	b.WriteString(".")
	if ocr != "" {
		fmt.Fprintf(&b, " Text in it: %s", firstWords(ocr, 80))
		summary += fmt.Sprintf(", %d words of text", info.OCRWords)
	}
	return summary, b.String()
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
