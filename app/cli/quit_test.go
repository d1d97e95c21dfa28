//go:build unix

package cli

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestQuitStopsServe runs `metastation` on a new data directory, checks it
// says where its log and data are, presses the UI's Quit (POST /api/quit) and
// checks the command returns cleanly, as on Ctrl+C.
func TestQuitStopsServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var stdout lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- Main(context.Background(), []string{"--addr", "127.0.0.1:0", "--data", dir, "--no-browser", "--log-file", "auto"},
			func(string) string { return "" }, &stdout, os.Stderr, testAssets())
	}()
	urlRe := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
	deadline := time.Now().Add(20 * time.Second)
	for !urlRe.MatchString(stdout.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed; stdout %q", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := urlRe.FindString(stdout.String())
	logPath := filepath.Join(dir, logFileName)
	if !strings.Contains(stdout.String(), logPath) {
		t.Errorf("stdout does not say where the log is (%s): %q", logPath, stdout.String())
	}
	resp, err := http.Post(url+"api/quit", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/quit: %d, want 202", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after Quit", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return after Quit")
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first_run=true", "quit from the web page", "stopped cleanly"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("the log in the data directory lacks %q:\n%s", want, log)
		}
	}
}

func TestOpenLogFallsBackToDataDir(t *testing.T) {
	dir := t.TempDir()
	var closed *os.File // what a Windows GUI process has for stderr
	tests := []struct {
		name, logFile string
		stderr        any
		wantPath      string
	}{
		{"terminal", "", &lockedBuffer{}, ""},
		{"no console", "", closed, filepath.Join(dir, logFileName)},
		{"auto", "auto", &lockedBuffer{}, filepath.Join(dir, logFileName)},
		{"a path", filepath.Join(dir, "x.log"), &lockedBuffer{}, filepath.Join(dir, "x.log")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w interface{ Write([]byte) (int, error) }
			switch s := tc.stderr.(type) {
			case *os.File:
				w = s
			case *lockedBuffer:
				w = s
			}
			out, path, err := openLog(tc.logFile, dir, w)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			if path != tc.wantPath {
				t.Fatalf("log path %q, want %q", path, tc.wantPath)
			}
			if _, err := out.Write([]byte("x\n")); err != nil {
				t.Fatal(err)
			}
		})
	}
}
