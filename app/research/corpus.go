package research

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// Limits on what a folder may bring.
const (
	MaxFileBytes = 8 << 20
	MaxFiles     = 20_000
)

// IngestReport says what reading a folder did.
type IngestReport struct {
	Dir      string   `json:"dir"`
	Papers   int      `json:"papers"`
	Skipped  []string `json:"skipped,omitempty"` // file: why
	PDFTool  string   `json:"pdf_tool"`          // the pdftotext found, or "" (PDFs skipped)
	Datasets []string `json:"-"`
}

// ReadDir reads every .txt, .md, .html/.htm and (with pdftotext from
// poppler-utils on PATH) .pdf file under dir as a paper, with its date
// from the file (front matter "date:", a "Date:" line, an HTML meta date,
// the PDF's creation date) or, failing those, its modification time.
// Unreadable files are skipped and reported, never fatal.
func ReadDir(ctx context.Context, dir string) ([]Paper, IngestReport, error) {
	rep := IngestReport{Dir: dir}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, rep, errs.Errorf(errs.Invalid, "%s is not a folder that can be read.", dir)
	}
	if p, err := exec.LookPath("pdftotext"); err == nil {
		rep.PDFTool = p
	}
	var papers []Paper
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			rep.Skipped = append(rep.Skipped, path+": "+err.Error())
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			return nil
		}
		if len(papers) >= MaxFiles {
			return fmt.Errorf("more than %d files", MaxFiles)
		}
		ext := strings.ToLower(filepath.Ext(path))
		if !slices.Contains([]string{".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}, ext) {
			return nil
		}
		p, err := readPaper(ctx, path, ext, rep.PDFTool)
		if err != nil {
			rep.Skipped = append(rep.Skipped, path+": "+err.Error())
			return nil
		}
		papers = append(papers, p)
		return nil
	})
	if err != nil {
		return nil, rep, errs.Wrap(errs.Invalid, err, "reading %s stopped: %v", dir, err)
	}
	slices.SortFunc(papers, func(a, b Paper) int { return strings.Compare(a.Key, b.Key) })
	rep.Papers = len(papers)
	return papers, rep, nil
}

var (
	frontTitle = regexp.MustCompile(`(?m)^\s*title\s*:\s*"?([^"\n]+)"?\s*$`)
	frontDate  = regexp.MustCompile(`(?im)^\s*(?:date|published|publication date)\s*:\s*"?([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4})`)
	metaDate   = regexp.MustCompile(`(?i)<meta[^>]+(?:name|property)="(?:date|citation_publication_date|dc\.date|article:published_time)"[^>]+content="([0-9]{4}(?:[-/][0-9]{2}[-/][0-9]{2})?)`)
	titleTag   = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	scripts    = regexp.MustCompile(`(?is)<(script|style)[^>]*>.*?</(script|style)>`)
	tags       = regexp.MustCompile(`(?s)<[^>]+>`)
	pdfDate    = regexp.MustCompile(`(?m)^CreationDate:\s+\S+\s+(\S+)\s+(\d+)\s+\S+\s+(\d{4})`)
)

func readPaper(ctx context.Context, path, ext, pdftotext string) (Paper, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Paper{}, err
	}
	if info.Size() > MaxFileBytes {
		return Paper{}, fmt.Errorf("larger than %d MB", MaxFileBytes>>20)
	}
	p := Paper{Key: path, Date: info.ModTime().UTC().Truncate(24 * time.Hour)}
	var text string
	switch ext {
	case ".pdf":
		if pdftotext == "" {
			return Paper{}, errors.New("a PDF, and pdftotext (poppler-utils) is not installed")
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(cctx, pdftotext, "-enc", "UTF-8", path, "-").Output()
		if err != nil {
			return Paper{}, fmt.Errorf("pdftotext: %w", err)
		}
		text = string(out)
		if info, err := exec.CommandContext(cctx, "pdfinfo", path).Output(); err == nil {
			if m := pdfDate.FindStringSubmatch(string(info)); m != nil {
				if t, err := time.Parse("Jan 2 2006", m[1]+" "+m[2]+" "+m[3]); err == nil {
					p.Date = t
				}
			}
		}
	default:
		raw, err := os.ReadFile(path)
		if err != nil {
			return Paper{}, err
		}
		text = string(raw)
		if ext == ".html" || ext == ".htm" {
			if m := metaDate.FindStringSubmatch(text); m != nil {
				if t, ok := parseDate(m[1]); ok {
					p.Date = t
				}
			}
			if m := titleTag.FindStringSubmatch(text); m != nil {
				p.Title = strings.TrimSpace(html.UnescapeString(tags.ReplaceAllString(m[1], "")))
			}
			text = html.UnescapeString(tags.ReplaceAllString(scripts.ReplaceAllString(text, " "), " "))
		}
	}
	if m := frontTitle.FindStringSubmatch(text); m != nil && p.Title == "" && ext != ".pdf" {
		p.Title = strings.TrimSpace(m[1])
	}
	if m := frontDate.FindStringSubmatch(text); m != nil {
		if t, ok := parseDate(m[1]); ok {
			p.Date = t
		}
	}
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return Paper{}, errors.New("no text")
	}
	if p.Title == "" {
		p.Title = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	p.Text = text
	return p, nil
}

func parseDate(s string) (time.Time, bool) {
	s = strings.ReplaceAll(s, "/", "-")
	for _, layout := range []string{"2006-01-02", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
