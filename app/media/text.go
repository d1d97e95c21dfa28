package media

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/metastation/metastation/app/errs"
)

// TextInfo describes an item's text.
type TextInfo struct {
	Encoding  string `json:"encoding"` // utf-8, utf-16, latin-1
	Chars     int    `json:"chars"`
	Words     int    `json:"words"`
	Lines     int    `json:"lines"`
	Title     string `json:"title,omitempty"`      // an HTML title or the first Markdown heading
	Pages     int    `json:"pages,omitempty"`      // PDF
	TextPages int    `json:"text_pages,omitempty"` // PDF pages with a text layer
	Truncated bool   `json:"truncated,omitempty"`  // text past Limits.MaxText was not kept
}

// decodeFile turns a whole text file into UTF-8 and names its encoding.
func decodeFile(b []byte) (string, string) {
	switch {
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		return strings.ToValidUTF8(string(b[3:]), "\uFFFD"), "utf-8"
	case bytes.HasPrefix(b, []byte("\xff\xfe")), bytes.HasPrefix(b, []byte("\xfe\xff")):
		return decodeUTF16(b), "utf-16"
	case utf8.Valid(b):
		return string(b), "utf-8"
	}
	return latin1(b), "latin-1"
}

// page is the text of one page (a PDF page, or the whole of any other file).
type page struct {
	n    int // 1-based page number, 0 when the file has no pages
	text string
}

// extractPlain reads a txt, md or html file.
func extractPlain(f Format, b []byte, maxText int) (string, *TextInfo, error) {
	s, enc := decodeFile(b)
	info := &TextInfo{Encoding: enc}
	switch f {
	case HTML:
		var err error
		s, info.Title, err = visibleText(s)
		if err != nil {
			return "", nil, err
		}
	case MD:
		s, info.Title = markdownText(s)
	}
	s = tidyText(s)
	if len(s) > maxText {
		s, info.Truncated = cutUTF8(s, maxText), true
	}
	if strings.TrimSpace(s) == "" {
		return "", nil, errs.Errorf(errs.Invalid, "the file has no text to read")
	}
	countText(s, info)
	return s, info, nil
}

func countText(s string, info *TextInfo) {
	info.Chars += utf8.RuneCountInString(s)
	info.Words += len(strings.Fields(s))
	info.Lines += strings.Count(s, "\n") + 1
}

// visibleText is the text a browser shows of an HTML document: no scripts,
// styles, templates or head, blocks on their own lines.
func visibleText(doc string) (text, title string, err error) {
	z := html.NewTokenizer(strings.NewReader(doc))
	z.SetMaxBuf(64 << 20)
	var b strings.Builder
	hidden := 0 // depth inside elements whose text is not shown
	inTitle := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() == io.EOF {
				return b.String(), strings.TrimSpace(title), nil
			}
			return "", "", errs.Errorf(errs.Invalid, "the HTML could not be read: %v", z.Err())
		case html.TextToken:
			if inTitle {
				title += string(z.Text())
				continue
			}
			if hidden == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg, atom.Iframe, atom.Object:
				if tt == html.StartTagToken {
					hidden++
				} else if tt == html.EndTagToken && hidden > 0 {
					hidden--
				}
				continue
			case atom.Title:
				inTitle = tt == html.StartTagToken
				continue
			}
			if isBlock(a) {
				b.WriteByte('\n')
			} else if a == atom.Td || a == atom.Th {
				b.WriteByte(' ')
			}
		}
	}
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Br, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Li, atom.Ul, atom.Ol,
		atom.Tr, atom.Table, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Nav, atom.Aside, atom.Main,
		atom.Blockquote, atom.Pre, atom.Hr, atom.Dt, atom.Dd, atom.Figcaption, atom.Caption:
		return true
	}
	return false
}

var (
	mdImage    = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdEmphasis = regexp.MustCompile("(\\*\\*|__|\\*|`)")
	mdPrefix   = regexp.MustCompile(`^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)`)
)

// markdownText drops Markdown's markup and keeps its words; the first
// heading is the title.
func markdownText(s string) (string, string) {
	lines := strings.Split(s, "\n")
	title := ""
	fence := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
			lines[i] = ""
			continue
		}
		if fence {
			continue
		}
		if title == "" && strings.HasPrefix(strings.TrimSpace(l), "#") {
			title = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), "#"))
		}
		l = mdPrefix.ReplaceAllString(l, "")
		l = mdImage.ReplaceAllString(l, "$1")
		l = mdLink.ReplaceAllString(l, "$1")
		lines[i] = mdEmphasis.ReplaceAllString(l, "")
	}
	return strings.Join(lines, "\n"), title
}

// tidyText collapses runs of blanks within lines and of empty lines.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var b strings.Builder
	b.Grow(len(s))
	empty := 0
	for _, l := range strings.Split(s, "\n") {
		l = strings.Join(strings.FieldsFunc(l, func(r rune) bool { return unicode.IsSpace(r) || r == 0 }), " ")
		if l == "" {
			empty++
			continue
		}
		if b.Len() > 0 {
			if empty > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		empty = 0
		b.WriteString(l)
	}
	return b.String()
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// chunkMax is the most bytes of one chunk: memories hold 8 KB, and the
// chunk's heading goes in front.
const chunkMax = 4 << 10

// chunkText cuts each page's text into chunks of about target bytes, at
// paragraph, then sentence, then word boundaries, each with its position.
func chunkText(pages []page, target, maxChunks int) ([]Chunk, bool) {
	target = min(max(target, 200), chunkMax)
	var out []Chunk
	for _, p := range pages {
		s := p.text
		start := 0
		for start < len(s) {
			// Skip blanks between chunks.
			for start < len(s) && (s[start] == ' ' || s[start] == '\n') {
				start++
			}
			if start >= len(s) {
				break
			}
			end := cutPoint(s, start, target)
			text := strings.TrimSpace(s[start:end])
			if text != "" {
				if len(out) == maxChunks {
					return out, true
				}
				out = append(out, Chunk{Index: len(out), Page: p.n, Start: start, End: end, Text: text})
			}
			start = end
		}
	}
	return out, false
}

// cutPoint is where a chunk starting at start ends: the last paragraph
// break, else sentence end, else space, within target bytes (a paragraph a
// little longer than target stays whole up to chunkMax).
func cutPoint(s string, start, target int) int {
	if len(s)-start <= target {
		return len(s)
	}
	window := s[start:min(len(s), start+chunkMax)]
	if i := strings.LastIndex(window[:min(len(window), target)], "\n\n"); i > target/3 {
		return start + i
	}
	if len(window) <= target*3/2 && !strings.Contains(window, "\n\n") && len(s)-start <= chunkMax {
		return len(s)
	}
	w := window[:min(len(window), target)]
	best := -1
	for _, sep := range []string{". ", "? ", "! ", ".\n", "\n"} {
		if i := strings.LastIndex(w, sep); i > target/3 && i+1 > best {
			best = i + 1
		}
	}
	if best > 0 {
		return start + best
	}
	if i := strings.LastIndexByte(w, ' '); i > target/3 {
		return start + i
	}
	return start + len(cutUTF8(w, target))
}
