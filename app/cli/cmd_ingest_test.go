package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metastation/metastation/app/command"
)

func TestIngestCommand(t *testing.T) {
	dir := t.TempDir()
	note := filepath.Join(dir, "note.md")
	os.WriteFile(note, []byte("# Copper\n\nMines in Chile flooded; copper rose 8%.\n"), 0o644)
	zip := filepath.Join(dir, "x.zip")
	os.WriteFile(zip, append([]byte("PK\x03\x04"), make([]byte, 40)...), 0o644)
	data := filepath.Join(dir, "data")
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Main(context.Background(), append([]string{"ingest"}, args...), func(string) string { return "" }, &out, io.Discard, testAssets())
		return out.String(), err
	}
	out, err := run("--data", data, "--quiet", note, zip)
	if err == nil || !strings.Contains(out, "note.md: item 1, Markdown") || !strings.Contains(out, "x.zip: refused: The file is a zip archive") {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	out, err = run(note, "--data", data, "--json", "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		OK        bool `json:"ok"`
		Duplicate bool `json:"duplicate"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); err != nil || !line.OK || !line.Duplicate {
		t.Fatalf("second run: %v %q", err, out)
	}
	if _, err := run("--data", data); command.ExitCode(err) != 2 {
		t.Fatalf("no file: %v", err)
	}
}
