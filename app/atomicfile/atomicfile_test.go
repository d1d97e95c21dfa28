package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		before  string // "" for no file
		write   func(io.Writer) error
		want    string
		wantErr bool
	}{
		{"new file", "", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", false},
		{"replaces", "old", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", false},
		{"failure keeps the old file", "old", func(w io.Writer) error {
			io.WriteString(w, "half")
			return errors.New("disk on fire")
		}, "old", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.txt")
			if tt.before != "" {
				if err := os.WriteFile(path, []byte(tt.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, 0o600, tt.write)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("file holds %q, want %q", got, tt.want)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("%d entries in the directory, want only the file (no temporary left)", len(entries))
			}
			if st, err := os.Stat(path); err == nil && !tt.wantErr && st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
		})
	}
}

func TestWriteFileIntoMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no")
	err := WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "cannot write to "+dir) {
		t.Fatalf("writing into a missing directory: %v, want it to name the directory", err)
	}
}
