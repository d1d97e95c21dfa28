package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/command"
	"github.com/metastation/metastation/app/store"
	"github.com/metastation/metastation/app/web"
)

// runServe is `metastation` with no command: serve the app until a signal.
func runServe(ctx context.Context, env command.Env, args []string) error {
	cfg, err := parseServeConfig(args, env.Getenv, env.Stderr)
	if err != nil {
		return err
	}
	logOut, logPath, err := openLog(cfg.LogFile, cfg.DataDir, env.Stderr)
	if err != nil {
		return err
	}
	defer logOut.Close()
	cfg.LogFile = logPath // what the first-run page shows: "" is the terminal
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// A new data directory gets the first-run page instead of the home page.
	_, statErr := os.Stat(filepath.Join(cfg.DataDir, store.FileName))
	firstRun := errors.Is(statErr, fs.ErrNotExist)

	// The first SIGINT/SIGTERM starts a graceful shutdown; a second one exits
	// at once.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := app.New(ctx, cfg, log, env.Assets)
	if err != nil {
		return err
	}
	url, err := web.Start(ctx, srv)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	if cfg.Token != "" {
		url += "?token=" + cfg.Token // Jupyter-style: the address carries the token
	}
	fmt.Fprintf(env.Stdout, "Metastation is running at %s\n(data in %s; press Ctrl+C or the Quit button to stop)\n", url, cfg.DataDir)
	if logPath != "" {
		fmt.Fprintf(env.Stdout, "(log in %s)\n", logPath)
	}
	log.Info("serving", "url", url, "data", cfg.DataDir, "seed", cfg.Seed, "version", app.Version(), "first_run", firstRun)
	if !cfg.NoBrowser {
		if firstRun {
			url = strings.Replace(url, "/?", "/welcome?", 1)
			if !strings.Contains(url, "?") {
				url += "welcome"
			}
		}
		openBrowser(url, env.Getenv, log)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", "signal")
	case <-srv.QuitRequested():
		log.Info("shutting down", "reason", "quit from the web page")
	}
	stop() // from here a second signal kills the process the default way
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

func openBrowser(url string, getenv func(string) string, log *slog.Logger) {
	cmd := browserCommand(url, getenv)
	if cmd == nil {
		log.Info("no display found; open the URL yourself", "url", url)
		return
	}
	if err := cmd.Start(); err != nil {
		log.Warn("could not open a browser; open the URL yourself", "url", url, "err", err)
		return
	}
	go cmd.Wait() // reap it
}

// browserCommand returns the command that opens url in the default browser,
// or nil when there is none to use (no display on Linux).
func browserCommand(url string, getenv func(string) string) *exec.Cmd {
	switch runtime.GOOS {
	case "darwin":
		return exec.Command("open", url)
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return nil
		}
		return exec.Command("xdg-open", url)
	}
}
