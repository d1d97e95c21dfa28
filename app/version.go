package app

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version reads the module version and VCS stamp from the build info.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + modified + ")"
	}
	return v + " " + bi.GoVersion
}

func runVersion(_ context.Context, env Env, _ []string) error {
	_, err := fmt.Fprintln(env.Stdout, "metastation", version())
	return err
}
