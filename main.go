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
	stdout, stderr := cli.Console() // a Windows GUI build attaches to its terminal's console
	err := cli.Main(context.Background(), os.Args[1:], os.Getenv, stdout, stderr, assets)
	if err != nil {
		fmt.Fprintln(stderr, "metastation:", err)
		os.Exit(cli.ExitCode(err))
	}
}
