package app

import (
	"runtime/debug"
	"strings"
)

// The release stamp, set by tools/release with
//
//	-ldflags "-X github.com/metastation/metastation/app.versionTag=v1.2.3 ..."
//
// They are package variables only because -X can set nothing else; nothing
// writes them at run time. A plain `go build` leaves them empty and Version
// falls back to the VCS stamp of the build info.
var (
	versionTag    string // the release tag, "v0.3.0"
	versionCommit string // the full commit hash the release was built from
	versionDate   string // the build time, RFC 3339 in UTC
)

// BuildInfo is what `metastation version` prints.
type BuildInfo struct {
	Tag       string `json:"tag"`        // release tag, or the module version ("(devel)")
	Commit    string `json:"commit"`     // commit hash, "" when unknown
	Date      string `json:"date"`       // build or commit time, "" when unknown
	Modified  bool   `json:"modified"`   // built from a work tree with changes
	GoVersion string `json:"go_version"` // the toolchain
}

// ReadBuildInfo returns the release stamp, completed from the build info for
// what the stamp leaves out.
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Tag: versionTag, Commit: versionCommit, Date: versionDate}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if b.Tag == "" {
			b.Tag = "unknown"
		}
		return b
	}
	b.GoVersion = bi.GoVersion
	if b.Tag == "" {
		b.Tag = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// Version is the one-line version: "v0.3.0 (commit 1a2b3c4d5e6f, built
// 2026-12-03T17:00:00Z) go1.26".
func Version() string { return ReadBuildInfo().String() }

func (b BuildInfo) String() string {
	var sb strings.Builder
	sb.WriteString(b.Tag)
	var parts []string
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if b.Modified {
			c += "+dirty"
		}
		parts = append(parts, "commit "+c)
	}
	if b.Date != "" {
		parts = append(parts, "built "+b.Date)
	}
	if len(parts) > 0 {
		sb.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	if b.GoVersion != "" {
		sb.WriteString(" " + b.GoVersion)
	}
	return sb.String()
}
