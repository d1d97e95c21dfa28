// Package command is what every subcommand of the binary shares: its
// environment, usage errors (exit status 2), flags with environment twins,
// and the one JSON line a benchmark ends with. app/cli and app/bench build on
// it.
package command

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/metastation/metastation/app"
)

// Env is what every command receives: its outputs, its environment and the
// embedded assets. Commands use nothing global.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Assets app.Assets
}

// Command is one subcommand of the binary.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, env Env, args []string) error
}

// errUsage marks a mistake in the command line; it exits with status 2.
var errUsage = errors.New("usage")

// Usagef returns an error for a command-line mistake, which ExitCode tells
// apart from a failure.
func Usagef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// ExitCode maps a command's error to the process exit status: 2 for a usage
// mistake, 1 for anything else.
func ExitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// NewFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to out: the flags, then each flag's environment twin.
func NewFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Flags of %s:\n", name)
		fs.PrintDefaults()
		var twins []string
		width := 0
		fs.VisitAll(func(f *flag.Flag) { width = max(width, len(f.Name)) })
		fs.VisitAll(func(f *flag.Flag) {
			twins = append(twins, fmt.Sprintf("  --%-*s  %s", width, f.Name, EnvName(f.Name)))
		})
		if len(twins) > 0 {
			fmt.Fprintf(fs.Output(), "\nEach flag not given is read from its environment twin:\n%s\n", strings.Join(twins, "\n"))
		}
	}
	return fs
}

// EnvName is the environment twin of a flag: METASTATION_ and the flag's
// name in capitals, dashes as underscores (--no-browser: METASTATION_NO_BROWSER).
func EnvName(flagName string) string {
	return "METASTATION_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseFlags parses args into fs, then fills every flag not given on the
// command line from its environment twin METASTATION_<FLAG> (dashes become
// underscores). The command line wins over the environment.
func ParseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return Usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return Usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		key := EnvName(f.Name)
		if v := getenv(key); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", key, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return Usagef("%w", errors.Join(errs...))
	}
	return nil
}

// PrintJSONLine writes v as one JSON object on one line: the last line of a
// benchmark run with --json.
func PrintJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode figures: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// IsHelpFlag reports whether arg asks a command dispatcher for its usage.
func IsHelpFlag(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }
