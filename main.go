// Command metastation is a local lab of AI agents at work: a simulated market,
// a live trading tournament, reinforcement learning and synthetic data, served
// to the browser from one binary.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/cli"
)

func main() {
	assets := app.Assets{Static: staticFS(), Migrations: migrationsFS()}
	err := cli.Main(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr, assets)
	if err != nil {
		fmt.Fprintln(os.Stderr, "metastation:", err)
		os.Exit(cli.ExitCode(err))
	}
}
