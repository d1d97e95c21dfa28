package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeArchitecture checks that the README's Architecture section names
// every Go package of the repository, so the map of the house stays true.
func TestReadmeArchitecture(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## Architecture")
	if start < 0 {
		t.Fatal("README.md has no Architecture section")
	}
	section := readme[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`[a-z][a-z0-9_]*(?:/[a-z0-9_]+)*`).FindAllString(section, -1) {
		named[m] = true
	}
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "static", "testdata", "node_modules", ".git", "docs", "migrations":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." {
			return nil
		}
		if !named[dir] && !named["app/"+filepath.Base(dir)] && !named[filepath.Base(dir)] {
			t.Errorf("package %s is not named in the README's Architecture section", dir)
			named[dir] = true // once
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
