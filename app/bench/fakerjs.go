package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// fakerScript builds gofakeitRecords' record with @faker-js/faker.
//
//go:embed fakerjs.cjs
var fakerScript []byte

// errNoFaker says why faker-js was not measured.
var errNoFaker = errors.New("node or @faker-js/faker is not installed (npm i -g @faker-js/faker)")

// fakerJSPerS measures @faker-js/faker building n records on one core, in
// this run: node runs the embedded script with the global node_modules on
// its path. Without node or the package it returns errNoFaker, and the
// bench leaves the figure out rather than print one it did not measure.
func fakerJSPerS(ctx context.Context, n int) (float64, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return 0, errNoFaker
	}
	dir, err := os.MkdirTemp("", "metastation-fakerjs-")
	if err != nil {
		return 0, fmt.Errorf("faker-js: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "fakerjs.cjs")
	if err := os.WriteFile(script, fakerScript, 0o644); err != nil {
		return 0, fmt.Errorf("faker-js: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, fmt.Sprint(n))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath(ctx))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "Cannot find module") {
			return 0, errNoFaker
		}
		return 0, fmt.Errorf("faker-js: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res struct {
		Records int     `json:"records"`
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res); err != nil || res.Seconds <= 0 || res.Records != n {
		return 0, fmt.Errorf("faker-js: unexpected output %q", out.String())
	}
	return float64(res.Records) / res.Seconds, nil
}

// nodePath is NODE_PATH with npm's global folder added, where
// `npm i -g` puts packages but require does not look by itself.
func nodePath(ctx context.Context) string {
	paths := []string{}
	if p := os.Getenv("NODE_PATH"); p != "" {
		paths = append(paths, p)
	}
	if out, err := exec.CommandContext(ctx, "npm", "root", "-g").Output(); err == nil {
		paths = append(paths, strings.TrimSpace(string(out)))
	}
	return strings.Join(paths, string(os.PathListSeparator))
}
