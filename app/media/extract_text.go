package media

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/metastation/metastation/app/errs"
)

// extractText reads a txt, md or html file (at most MaxBytes[Text], already
// checked, so reading it whole is bounded).
func (p *Pipeline) extractText(f *os.File, size int64, format Format) (*extracted, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), b); err != nil {
		return nil, fmt.Errorf("media: read text: %w", err)
	}
	text, info, err := extractPlain(format, b, p.cfg.Limits.MaxText)
	if err != nil {
		return nil, err
	}
	ex := &extracted{kind: Text, pages: []page{{text: text}}, part: "text", info: Info{Text: info}}
	what := map[Format]string{TXT: "Text", MD: "Markdown", HTML: "Web page"}[format]
	ex.summary = fmt.Sprintf("%s, %s in %s", what, plural(info.Words, "word"), plural(info.Lines, "line"))
	if info.Title != "" {
		ex.summary = fmt.Sprintf("%s %q, %d words", what, info.Title, info.Words)
	}
	if info.Encoding != "utf-8" {
		ex.info.Notes = append(ex.info.Notes, fmt.Sprintf("The text was %s and has been read as such.", strings.ToUpper(info.Encoding)))
	}
	if info.Truncated {
		ex.info.Notes = append(ex.info.Notes, fmt.Sprintf("Only the first %s of text were kept.", humanBytes(int64(p.cfg.Limits.MaxText))))
	}
	ex.desc = ex.summary + ". " + firstWords(text, 60)
	return ex, nil
}

// firstWords is the start of s, at most n words.
func firstWords(s string, n int) string {
	w := strings.Fields(s)
	if len(w) > n {
		return strings.Join(w[:n], " ") + " …"
	}
	return strings.Join(w, " ")
}

// ctxErr turns an ended context into the error that names it.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return errs.Wrap(errs.Invalid, err, "reading the file was stopped")
	}
	return nil
}

// plural says "1 word", "2 words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
