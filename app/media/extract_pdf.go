package media

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ledongthuc/pdf"

	"github.com/metastation/metastation/app/errs"
)

// extractPDF reads a PDF's text layer page by page with ledongthuc/pdf (a
// maintained fork of rsc.io/pdf, pure Go). Before the library sees the
// file, every compressed stream is inflated into a counter: one that would
// expand past Limits.MaxInflate (a flate bomb) refuses the file, so the
// library never holds it in memory.
func (p *Pipeline) extractPDF(ctx context.Context, f *os.File, size int64, frac func(float64)) (*extracted, error) {
	if err := checkPDFStreams(ctx, f, size, p.cfg.Limits); err != nil {
		return nil, err
	}
	r, err := pdf.NewReader(f, size)
	if err != nil {
		if errors.Is(err, pdf.ErrInvalidPassword) || strings.Contains(err.Error(), "encrypt") {
			return nil, errs.Wrap(errs.Invalid, err, "the PDF is encrypted; upload a copy without a password")
		}
		return nil, errs.Wrap(errs.Invalid, err, "the PDF is damaged or truncated and could not be read")
	}
	n := r.NumPage()
	if n <= 0 {
		return nil, errs.Errorf(errs.Invalid, "the PDF has no pages")
	}
	if n > p.cfg.Limits.MaxPDFPages {
		return nil, errs.Errorf(errs.Invalid, "the PDF has %d pages; at most %d are read", n, p.cfg.Limits.MaxPDFPages)
	}
	info := &TextInfo{Encoding: "pdf", Pages: n}
	ex := &extracted{kind: Text, part: "text", info: Info{Text: info}}
	total := 0
	for i := 1; i <= n; i++ {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		pg := r.Page(i)
		if pg.V.IsNull() {
			continue
		}
		text, err := pg.GetPlainText(nil)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "page %d of the PDF could not be read", i)
		}
		text = tidyText(strings.ToValidUTF8(text, ""))
		frac(float64(i) / float64(n))
		if text == "" {
			continue
		}
		info.TextPages++
		if total+len(text) > p.cfg.Limits.MaxText {
			text, info.Truncated = cutUTF8(text, p.cfg.Limits.MaxText-total), true
		}
		total += len(text)
		countText(text, info)
		ex.pages = append(ex.pages, page{n: i, text: text})
		if info.Truncated {
			ex.info.Notes = append(ex.info.Notes, fmt.Sprintf("Only the first %s of text (to page %d) were kept.", humanBytes(int64(p.cfg.Limits.MaxText)), i))
			break
		}
	}
	if info.TextPages == 0 {
		if ocr := p.ocrPDF(ctx, f.Name(), n, &ex.info); len(ocr) > 0 {
			ex.pages, ex.part = ocr, "ocr"
			for _, pg := range ocr {
				countText(pg.text, info)
			}
			ex.summary = fmt.Sprintf("Scanned PDF of %d pages, %d words read by OCR", n, info.Words)
			ex.desc = ex.summary + ". " + firstWords(ocr[0].text, 60)
			return ex, nil
		}
		ex.info.Notes = append(ex.info.Notes, "The PDF has no text layer (scanned pages are pictures of text); no text was read from it.")
		ex.summary = fmt.Sprintf("PDF of %d pages with no text layer", n)
		ex.desc = ex.summary + ": a scanned document whose pages are pictures."
		return ex, nil
	}
	ex.summary = fmt.Sprintf("PDF of %d pages, %d words", n, info.Words)
	if info.TextPages < n {
		ex.summary += fmt.Sprintf(" (%d pages without text)", n-info.TextPages)
	}
	ex.desc = ex.summary + ". " + firstWords(ex.pages[0].text, 60)
	return ex, nil
}

// checkPDFStreams inflates every zlib stream of the file into a counter and
// refuses the file when one expands past lim.MaxInflate, or past
// lim.MaxInflateRatio times its compressed size, or all of them past four
// times MaxInflate.
func checkPDFStreams(ctx context.Context, f io.ReaderAt, size int64, lim Limits) error {
	const window = 1 << 20
	buf := make([]byte, window+16)
	var total int64
	for off := int64(0); off < size; off += window {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if err != nil && err != io.EOF {
			return fmt.Errorf("media: read PDF: %w", err)
		}
		b := buf[:n]
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte("stream"))
			if j < 0 {
				break
			}
			at := i + j
			i = at + 6
			if at >= window || (at >= 3 && string(b[at-3:at]) == "end") {
				continue
			}
			start := at + 6
			if start < len(b) && b[start] == '\r' {
				start++
			}
			if start >= len(b) || b[start] != '\n' {
				continue
			}
			start++
			out, in, err := inflateCount(io.NewSectionReader(f, off+int64(start), size-off-int64(start)), lim.MaxInflate+1)
			if err != nil {
				continue // not zlib (an image, another filter) or damaged: the library decides
			}
			if out > lim.MaxInflate {
				return errs.Errorf(errs.Invalid, "the PDF has a compressed stream that expands past %s (a decompression bomb)", humanBytes(lim.MaxInflate))
			}
			if out > 1<<20 && in > 0 && out/in > lim.MaxInflateRatio {
				return errs.Errorf(errs.Invalid, "the PDF has a stream that expands %d times (a decompression bomb)", out/in)
			}
			total += out
			if total > 4*lim.MaxInflate {
				return errs.Errorf(errs.Invalid, "the PDF's streams expand past %s in all (a decompression bomb)", humanBytes(4*lim.MaxInflate))
			}
		}
	}
	return nil
}

// inflateCount inflates a zlib stream from r into a counter, at most max
// bytes, and returns the bytes out and the compressed bytes read.
func inflateCount(r io.Reader, max int64) (out, in int64, err error) {
	cr := &countingReader{r: r}
	zr, err := zlib.NewReader(cr)
	if err != nil {
		return 0, 0, err
	}
	defer zr.Close()
	out, err = io.Copy(io.Discard, io.LimitReader(zr, max))
	if err != nil && out == 0 {
		return 0, 0, err
	}
	return out, cr.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// ocrPDF reads the first pages of a PDF without a text layer by drawing
// each with poppler's pdftoppm at 150 dpi and reading it with tesseract,
// when both are installed; the notes say what was done or why not.
func (p *Pipeline) ocrPDF(ctx context.Context, path string, pages int, notes *Info) []page {
	t := p.cfg.Tools
	if t.Tesseract == "" || t.Pdftoppm == "" {
		notes.Notes = append(notes.Notes, "Reading scanned pages needs pdftoppm and tesseract (apt-get install poppler-utils tesseract-ocr); one of them is not installed.")
		return nil
	}
	dir, err := os.MkdirTemp(p.files.tmpDir(), "pdfpages-*")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	n := min(pages, p.cfg.Limits.MaxOCRPages)
	var out []page
	for i := 1; i <= n; i++ {
		if ctx.Err() != nil {
			return nil
		}
		prefix := filepath.Join(dir, "p"+strconv.Itoa(i))
		num := strconv.Itoa(i)
		if _, err := runTool(ctx, p.cfg.ToolTimeout, t.Pdftoppm, nil, "-r", "150", "-gray", "-png", "-singlefile", "-f", num, "-l", num, path, prefix); err != nil {
			notes.Notes = append(notes.Notes, "pdftoppm could not draw page "+num+": "+err.Error()+".")
			return out
		}
		text, err := runTool(ctx, p.cfg.ToolTimeout, t.Tesseract, nil, prefix+".png", "stdout", "--psm", "3")
		if err != nil {
			notes.Notes = append(notes.Notes, "Tesseract could not read page "+num+": "+err.Error()+".")
			return out
		}
		if s := tidyText(strings.ToValidUTF8(string(text), "")); s != "" {
			out = append(out, page{n: i, text: cutUTF8(s, p.cfg.Limits.MaxText)})
		}
		os.Remove(prefix + ".png")
	}
	if len(out) > 0 {
		msg := "The PDF has no text layer; its pages were read by OCR (pdftoppm and tesseract)"
		if pages > n {
			msg += fmt.Sprintf(", the first %d of %d", n, pages)
		}
		notes.Notes = append(notes.Notes, msg+".")
	}
	return out
}
