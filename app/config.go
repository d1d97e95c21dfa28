package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
)

// Config is what `metastation serve` runs with.
type Config struct {
	Addr      string
	DataDir   string
	Seed      int64
	NoBrowser bool
	LogLevel  slog.Level
	// Showcase runs the seeded stand-in agents that keep the agent network
	// page full (issue 8); they publish about 240 bus messages a second.
	Showcase bool
	// TournamentAgent is a trading-world checkpoint (metastation train
	// --env trading-ma --algo vdn|qmix) that enters the tournament.
	TournamentAgent string
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to out.
func newFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// parseFlags parses args into fs, then fills every flag not given on the
// command line from its environment twin METASTATION_<FLAG> (dashes become
// underscores). The command line wins over the environment.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usageError("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		key := "METASTATION_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(key); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", key, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return usageError("%w", errors.Join(errs...))
	}
	return nil
}

// parseServeConfig reads serve's flags and their environment twins.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := newFlagSet("serve", stderr)
	var cfg Config
	var level string
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "loopback `host:port` to serve on; the next free port is taken if it is busy")
	fs.StringVar(&cfg.DataDir, "data", defaultDataDir(getenv), "`directory` holding the database")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of every random process: the same seed replays the same run")
	fs.BoolVar(&cfg.NoBrowser, "no-browser", false, "do not open a browser tab")
	fs.StringVar(&level, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.BoolVar(&cfg.Showcase, "showcase", true, "run the seeded showcase agents on the agent network page")
	fs.StringVar(&cfg.TournamentAgent, "tournament-agent", "", "trading-world checkpoint `file` (metastation train --env trading-ma) that enters the tournament")
	if err := parseFlags(fs, args, getenv); err != nil {
		return Config{}, err
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return Config{}, usageError("--log-level %q: use debug, info, warn or error", level)
	}
	if err := checkLoopback(cfg.Addr); err != nil {
		return Config{}, usageError("--addr: %v", err)
	}
	if cfg.DataDir == "" {
		return Config{}, usageError("--data must name a directory")
	}
	return cfg, nil
}

// checkLoopback refuses addresses other than loopback: Metastation has no
// authentication, so it must not be reachable from the network.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address; Metastation only serves on 127.0.0.1, ::1 or localhost", host)
	}
	return nil
}
