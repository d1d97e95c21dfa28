package research

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

// The memo's Markdown is a small, known subset (headings, paragraphs,
// bold, italics, pipe tables, citations); HTML renders exactly it, every
// text escaped, so a memo can be shown in the page and printed to PDF.

var (
	citeRE   = regexp.MustCompile(`\[([MET])([0-9]+)\]`)
	boldRE   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	italicRE = regexp.MustCompile(`\*([^*]+)\*`)
)

// CiteHref says where a citation links: kind is "M" (a memory), "E" (an
// experiment) or "T" (a trial).
type CiteHref func(kind string, id string) string

// HTML renders a memo's Markdown. Citations become links with
// data-cite="M12" (and the href href gives them).
func HTML(md string, href CiteHref) string {
	var b strings.Builder
	lines := strings.Split(md, "\n")
	var para []string
	flush := func() {
		if len(para) > 0 {
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(strings.Join(para, " "), href))
			para = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		ln := lines[i]
		switch {
		case strings.TrimSpace(ln) == "":
			flush()
		case strings.HasPrefix(ln, "#"):
			flush()
			level := len(ln) - len(strings.TrimLeft(ln, "#"))
			level = min(max(level, 1), 6)
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", level, inline(strings.TrimSpace(ln[level:]), href), level)
		case strings.HasPrefix(ln, "|"):
			flush()
			var rows [][]string
			for ; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
				rows = append(rows, cells(lines[i]))
			}
			i--
			b.WriteString("<table>\n")
			for r, row := range rows {
				if r == 1 && isRule(row) {
					continue
				}
				tag := "td"
				if r == 0 {
					tag = "th"
				}
				b.WriteString("<tr>")
				for _, c := range row {
					fmt.Fprintf(&b, "<%s>%s</%s>", tag, inline(c, href), tag)
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</table>\n")
		default:
			para = append(para, strings.TrimSpace(ln))
		}
	}
	flush()
	return b.String()
}

func cells(ln string) []string {
	ln = strings.TrimSpace(ln)
	ln = strings.TrimPrefix(strings.TrimSuffix(ln, "|"), "|")
	parts := strings.Split(ln, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func isRule(row []string) bool {
	for _, c := range row {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}

func inline(s string, href CiteHref) string {
	s = html.EscapeString(s)
	s = boldRE.ReplaceAllString(s, "<strong>$1</strong>")
	s = italicRE.ReplaceAllString(s, "<em>$1</em>")
	return citeRE.ReplaceAllStringFunc(s, func(m string) string {
		p := citeRE.FindStringSubmatch(m)
		h := "#"
		if href != nil {
			h = href(p[1], p[2])
		}
		return fmt.Sprintf(`<a class="cite" data-cite="%s%s" href="%s">[%s%s]</a>`, p[1], p[2], html.EscapeString(h), p[1], p[2])
	})
}
