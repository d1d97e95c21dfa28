package ui

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates every .templ file with the templ CLI
// pinned in go.mod and compares it with the committed *_templ.go, so a page
// edited without `go tool templ generate` fails the build's tests.
func TestGeneratedCodeIsFresh(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to run the templ CLI")
	}
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templ files found: %v", err)
	}
	for _, f := range files {
		cmd := exec.Command("go", "tool", "templ", "generate", "-f", f, "-stdout")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("templ generate %s: %v\n%s", f, err, stderr.String())
		}
		gen := strings.TrimSuffix(f, ".templ") + "_templ.go"
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatalf("%s: %v (run: go tool templ generate)", gen, err)
		}
		// The committed code was generated from the module root, so it names
		// its source "ui/x.templ" where this run says "x.templ".
		got = bytes.ReplaceAll(got, []byte("FileName: `ui/"), []byte("FileName: `"))
		if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
			t.Errorf("%s is stale: run `go tool templ generate` and commit the result", gen)
		}
	}
}
