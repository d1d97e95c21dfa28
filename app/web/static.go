package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// staticFiles serves the embedded static/ tree. Each file's content hash is
// its ETag; a URL carrying the hash (?v=...) is cached for a year, since a new
// build changes the hash and so the URL.
type staticFiles struct {
	files map[string]staticFile
}

type staticFile struct {
	body []byte
	hash string // first 16 hex digits of the SHA-256
	mime string
}

func newStaticFiles(fsys fs.FS) (*staticFiles, error) {
	sf := &staticFiles{files: map[string]staticFile{}}
	if fsys == nil {
		return sf, nil
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		typ := mime.TypeByExtension(path.Ext(p))
		if typ == "" {
			typ = http.DetectContentType(body)
		}
		sf.files[p] = staticFile{body: body, hash: hex.EncodeToString(sum[:8]), mime: typ}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static files: %w", err)
	}
	return sf, nil
}

// URL returns the cache-busting URL of the static file at p ("js/live.js").
func (sf *staticFiles) URL(p string) string {
	f, ok := sf.files[p]
	if !ok {
		return "/static/" + p
	}
	return "/static/" + p + "?v=" + f.hash
}

func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/static/")
	f, ok := sf.files[p]
	if !ok {
		writeError(w, r, http.StatusNotFound, "There is no static file "+p+".")
		return
	}
	etag := `"` + f.hash + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", f.mime)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == f.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	// ServeContent answers If-None-Match with 304 and handles Range.
	http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(f.body))
}
