package research

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastation/metastation/app/errs"
)

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.md":      "---\ntitle: Momentum in crisis\ndate: 2011-04-05\n---\nBody about time series momentum.",
		"b.html":    `<html><head><title>Carry &amp; crashes</title><meta name="citation_publication_date" content="2015/06/01"></head><body><script>var x=1;</script><p>Carry trade text.</p></body></html>`,
		"c.txt":     "Date: 2003\nPlain text on reversal.",
		"empty.txt": "   ",
		"skip.csv":  "a,b",
		"sub/d.txt": "Nested file.",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	papers, rep, err := ReadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		base, title string
		date        time.Time
	}{
		{"a.md", "Momentum in crisis", time.Date(2011, 4, 5, 0, 0, 0, 0, time.UTC)},
		{"b.html", "Carry & crashes", time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC)},
		{"c.txt", "c", time.Date(2003, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"d.txt", "d", time.Time{}},
	}
	if len(papers) != len(want) {
		t.Fatalf("%d papers, want %d: %+v (skipped %v)", len(papers), len(want), papers, rep.Skipped)
	}
	for i, w := range want {
		t.Run(w.base, func(t *testing.T) {
			p := papers[i]
			if filepath.Base(p.Key) != w.base || p.Title != w.title || (!w.date.IsZero() && !p.Date.Equal(w.date)) {
				t.Fatalf("paper %+v, want %s %q %v", p, w.base, w.title, w.date)
			}
		})
	}
	if len(rep.Skipped) != 1 {
		t.Errorf("skipped %v, want the empty file", rep.Skipped)
	}
	if papers[1].Text != "Carry & crashes Carry trade text." {
		t.Errorf("HTML text %q", papers[1].Text)
	}
	if _, _, err := ReadDir(context.Background(), filepath.Join(dir, "nope")); !errs.Is(err, errs.Invalid) {
		t.Errorf("missing folder: %v, want invalid", err)
	}
}

func TestHTMLEscapesAndLinks(t *testing.T) {
	md := "# A <b> title\n\n**Fact.** See [M12] and *x* [T3].\n\n| a | b |\n| --- | ---: |\n| 1 | [E2] |\n"
	got := HTML(md, func(kind, id string) string { return "/r/" + kind + id })
	for _, want := range []string{
		"<h1>A &lt;b&gt; title</h1>",
		`<strong>Fact.</strong> See <a class="cite" data-cite="M12" href="/r/M12">[M12]</a> and <em>x</em>`,
		"<tr><th>a</th><th>b</th></tr>",
		`<tr><td>1</td><td><a class="cite" data-cite="E2" href="/r/E2">[E2]</a></td></tr>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("HTML lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "---") {
		t.Errorf("the table rule was rendered:\n%s", got)
	}
}

// minimalPDF is a one-page PDF of text with a creation date, written by
// hand (offsets and all) so the test needs no PDF library.
func minimalPDF(text, date string) []byte {
	stream := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /CreationDate (D:%s000000Z) >>", date),
	}
	var b strings.Builder
	b.WriteString("%PDF-1.4\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return []byte(b.String())
}

func TestReadDirPDF(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("METASTATION_E2E") == "1" {
			t.Fatal("METASTATION_E2E=1 but pdftotext (poppler-utils) is not installed")
		}
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "paper.pdf"), minimalPDF("Short term reversal in stressed markets", "20150304"), 0o644); err != nil {
		t.Fatal(err)
	}
	papers, rep, err := ReadDir(context.Background(), dir)
	if err != nil || len(papers) != 1 {
		t.Fatalf("%d papers, %v (skipped %v)", len(papers), err, rep.Skipped)
	}
	p := papers[0]
	if p.Text != "Short term reversal in stressed markets" || !p.Date.Equal(time.Date(2015, 3, 4, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("PDF read as %q dated %v", p.Text, p.Date)
	}
}
