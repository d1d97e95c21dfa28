package bench

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/metastation/metastation/app"
	"github.com/metastation/metastation/app/command"
)

// testAssets are the repository's own static files and migrations, as the
// binary embeds them.
func testAssets() app.Assets {
	return app.Assets{Static: os.DirFS("../../static"), Migrations: os.DirFS("../../migrations")}
}

// TestBenchHubSmall runs the hub benchmark end to end at a small scale, with
// the clients in this process, and checks its figures add up.
func TestBenchHubSmall(t *testing.T) {
	env := command.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }, Assets: testAssets()}
	res, err := benchHub(context.Background(), env, 50, 2, 4, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Clients != 50 || res.ConnectFailed != 0 || res.Disconnected != 0 {
		t.Fatalf("clients %+v", res)
	}
	if res.Expected != 50*8 || res.Delivered != res.Expected {
		t.Fatalf("delivered %d of %d", res.Delivered, res.Expected)
	}
	if res.P50ms <= 0 || res.P99ms < res.P50ms || res.MaxMs < res.P99ms {
		t.Fatalf("latencies out of order: %+v", res)
	}
}
