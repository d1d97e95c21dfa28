// Command release builds Metastation's downloadable binaries: CGO_ENABLED=0
// builds for Linux, macOS and Windows on amd64 and arm64, stamped with the
// tag, commit and build date (`metastation version` prints them), a macOS
// .app bundle per architecture, and a SHA256SUMS file over all of them.
//
//	go run ./tools/release [--tag v0.3.0] [--out dist] [--targets linux/amd64,...]
//
// Run it from the repository. One line is printed per target as it is built.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// module is the import path the version stamp lives under.
const module = "github.com/metastation/metastation"

// allTargets are the six release platforms.
func allTargets() []target {
	return []target{
		{"linux", "amd64"}, {"linux", "arm64"},
		{"darwin", "amd64"}, {"darwin", "arm64"},
		{"windows", "amd64"}, {"windows", "arm64"},
	}
}

type target struct{ OS, Arch string }

func (t target) String() string { return t.OS + "/" + t.Arch }

// stamp is what the linker writes into app.versionTag, versionCommit and
// versionDate.
type stamp struct{ Tag, Commit, Date string }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	tag := fs.String("tag", "", "release `tag` (default: git describe --tags --always --dirty)")
	dir := fs.String("out", "dist", "output `directory`; emptied of earlier release files first")
	only := fs.String("targets", "", "comma-separated `os/arch` list (default: all six)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	targets, err := parseTargets(*only)
	if err != nil {
		return err
	}
	st, err := readStamp(ctx, *tag)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", *dir, err)
	}
	if err := removeOld(*dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "release %s (commit %s, built %s): %d targets into %s\n", st.Tag, short(st.Commit), st.Date, len(targets), *dir)
	var files []string
	start := time.Now()
	for i, t := range targets {
		t0 := time.Now()
		made, err := buildTarget(ctx, t, st, *dir)
		if err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		var size int64
		for _, f := range made {
			if fi, err := os.Stat(filepath.Join(*dir, f)); err == nil {
				size += fi.Size()
			}
		}
		fmt.Fprintf(out, "[%d/%d] %-13s %s  %.1f MB in %.1fs\n", i+1, len(targets), t, strings.Join(made, ", "),
			float64(size)/(1<<20), time.Since(t0).Seconds())
		files = append(files, made...)
	}
	if err := writeSums(*dir, files); err != nil {
		return err
	}
	fmt.Fprintf(out, "SHA256SUMS over %d files; done in %.1fs\n", len(files), time.Since(start).Seconds())
	return nil
}

func parseTargets(s string) ([]target, error) {
	if s == "" {
		return allTargets(), nil
	}
	var ts []target
	for _, p := range strings.Split(s, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(p), "/")
		t := target{osName, arch}
		found := false
		for _, a := range allTargets() {
			found = found || a == t
		}
		if !ok || !found {
			return nil, fmt.Errorf("--targets: %q is not one of linux, darwin or windows / amd64 or arm64", p)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// readStamp asks git for the tag (unless given), the commit and, for the
// date, SOURCE_DATE_EPOCH when set (reproducible builds) or now.
func readStamp(ctx context.Context, tag string) (stamp, error) {
	commit, err := git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return stamp{}, err
	}
	if tag == "" {
		if tag, err = git(ctx, "describe", "--tags", "--always", "--dirty"); err != nil {
			return stamp{}, err
		}
		if !strings.HasPrefix(tag, "v") {
			tag = "v0.0.0-dev+" + tag // no release tag yet: say so in the version
		}
	}
	date := time.Now().UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return stamp{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
		}
		date = time.Unix(sec, 0).UTC()
	}
	return stamp{Tag: tag, Commit: commit, Date: date.Format(time.RFC3339)}, nil
}

func git(ctx context.Context, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(b)), nil
}

// removeOld deletes what an earlier run left in dir, so SHA256SUMS never
// lists a stale file.
func removeOld(dir string) error {
	old, err := filepath.Glob(filepath.Join(dir, "metastation-*"))
	if err != nil {
		return err
	}
	old = append(old, filepath.Join(dir, "SHA256SUMS"))
	for _, f := range old {
		if err := os.RemoveAll(f); err != nil {
			return fmt.Errorf("remove old %s: %w", f, err)
		}
	}
	return nil
}

// buildTarget builds one platform's binary, and on macOS its .app bundle,
// and returns the names of the files made in dir.
func buildTarget(ctx context.Context, t target, st stamp, dir string) ([]string, error) {
	name := fmt.Sprintf("metastation-%s-%s-%s", st.Tag, t.OS, t.Arch)
	if t.OS == "windows" {
		name += ".exe"
	}
	ldflags := []string{
		"-s", "-w",
		"-X", module + "/app.versionTag=" + st.Tag,
		"-X", module + "/app.versionCommit=" + st.Commit,
		"-X", module + "/app.versionDate=" + st.Date,
	}
	if t.OS == "windows" {
		// A GUI-subsystem binary: double-clicking it opens no console window.
		// It attaches to the console of a terminal it is started from
		// (app/cli console_windows.go) and otherwise logs to the data
		// directory.
		ldflags = append(ldflags, "-H", "windowsgui")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", strings.Join(ldflags, " "),
		"-o", filepath.Join(dir, name), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.OS, "GOARCH="+t.Arch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, stderr.String())
	}
	made := []string{name}
	if t.OS == "darwin" {
		app := fmt.Sprintf("metastation-%s-%s-%s.app.zip", st.Tag, t.OS, t.Arch)
		if err := writeAppBundle(filepath.Join(dir, app), filepath.Join(dir, name), st); err != nil {
			return nil, err
		}
		made = append(made, app)
	}
	return made, nil
}

// writeAppBundle zips Metastation.app around the macOS binary: Finder runs
// it on a double-click with no terminal, so its Info.plist asks for the log
// in the data directory (METASTATION_LOG_FILE=auto, the --log-file twin).
func writeAppBundle(zipPath, binPath string, st stamp) error {
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return err
	}
	version := strings.TrimPrefix(st.Tag, "v")
	plist := fmt.Sprintf(infoPlist, version, version)
	f, err := os.Create(zipPath)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	add := func(name string, mode os.FileMode, data []byte) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		h.Modified, _ = time.Parse(time.RFC3339, st.Date)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	err = errors.Join(
		add("Metastation.app/Contents/Info.plist", 0o644, []byte(plist)),
		add("Metastation.app/Contents/MacOS/metastation", 0o755, bin),
		zw.Close(),
		f.Close(),
	)
	if err != nil {
		return fmt.Errorf("write %s: %w", zipPath, err)
	}
	return nil
}

const infoPlist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleName</key><string>Metastation</string>
	<key>CFBundleDisplayName</key><string>Metastation</string>
	<key>CFBundleIdentifier</key><string>io.metastation.app</string>
	<key>CFBundleExecutable</key><string>metastation</string>
	<key>CFBundlePackageType</key><string>APPL</string>
	<key>CFBundleShortVersionString</key><string>%s</string>
	<key>CFBundleVersion</key><string>%s</string>
	<key>LSMinimumSystemVersion</key><string>11.0</string>
	<key>LSUIElement</key><true/>
	<key>LSEnvironment</key>
	<dict>
		<key>METASTATION_LOG_FILE</key><string>auto</string>
	</dict>
</dict>
</plist>
`

// writeSums writes SHA256SUMS in the format `sha256sum -c` checks.
func writeSums(dir string, files []string) error {
	sort.Strings(files)
	var b strings.Builder
	for _, name := range files {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("hash %s: %w", name, err)
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
