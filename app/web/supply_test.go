package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/metastation/metastation/app/bus"
	"github.com/metastation/metastation/app/supply"
)

func supplyTestServer(t *testing.T, cfg supply.ServiceConfig, run bool) (*supply.Service, *httptest.Server) {
	t.Helper()
	svc, err := supply.NewService(t.Context(), cfg, bus.New(), nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			svc.Run(ctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
	}
	r := chi.NewRouter()
	r.Get("/api/supply/state", supplyState(svc))
	r.Post("/api/supply/room", supplyRoom(svc))
	r.Post("/api/supply/crises", supplyInject(svc))
	r.Post("/api/supply/pause", supplyPause(svc))
	r.Post("/api/supply/compare", supplyCompare(svc))
	r.Get("/api/supply/comparisons", supplyComparisons(svc))
	r.Get("/api/supply/rooms/{id}/disruptions", supplyDisruptions(svc))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return svc, srv
}

// TestSupplyRoutes checks the crisis room's answers, its refusals above
// all: an impossible crisis is a 400 with a sentence and changes nothing.
// The service does not tick, so the room stays at period 0.
func TestSupplyRoutes(t *testing.T) {
	svc, srv := supplyTestServer(t, supply.ServiceConfig{}, false)
	for _, tc := range []rlCase{
		{"GET", "/api/supply/state", "", 200, `"preset": "global"`},
		{"POST", "/api/supply/crises", `{"kind":`, 400, "The request body is not valid JSON; send JSON like {"},
		{"POST", "/api/supply/crises", ``, 400, "The request body is empty"},
		{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"pacific","duration":5,"meteor":1}`, 400, `unknown field \"meteor\"`},
		{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"pacific","duration":"long"}`, 400, `The field \"duration\" must be a whole number.`},
		{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"pacific","duration":5,"capacity":-1}`, 400, "The capacity left must be between 0 and 1, not -1."},
		{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"pacific","duration":5,"lead":1000000000}`, 400, "A port closure adds 0 to 104 periods of lead time, not 1000000000."},
		{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"suez","duration":5}`, 400, `Network global has no lane \"suez\".`},
		{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"pacific","duration":0}`, 400, "A crisis lasts 1 to 520 periods, not 0."},
		{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"pacific","duration":5,"delay":-2}`, 400, "A crisis starts 0 to 520 periods from now, not -2."},
		{"POST", "/api/supply/crises", `{"kind":"supplier_failure","node":"dc","duration":5}`, 400, "A supplier failure hits a source or a factory"},
		{"POST", "/api/supply/crises", `{"kind":"demand_spike","factor":1e6,"duration":5}`, 400, "A demand spike multiplies demand by 0 to 10, not 1e+06."},
		{"POST", "/api/supply/crises", `{"kind":"logistics_loss","capacity":2,"duration":5}`, 400, "The capacity left must be between 0 and 1, not 2."},
		{"POST", "/api/supply/crises", `{"kind":"meteor","duration":5}`, 400, `Unknown crisis \"meteor\"`},
		{"GET", "/api/supply/state", "", 200, `"crises": null`},
		{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"pacific","delay":2,"duration":6,"lead":3,"capacity":0}`, 201, `"lane": "pacific"`},
		{"POST", "/api/supply/pause", `{}`, 400, "Say whether the room is paused"},
		{"POST", "/api/supply/pause", `{"paused":true}`, 200, `"paused": true`},
		{"POST", "/api/supply/pause", `{"paused":false}`, 200, `"paused": false`},
		{"POST", "/api/supply/room", `{"preset":"mars"}`, 404, `No network preset \"mars\" (known: beer, orgym, global).`},
		{"POST", "/api/supply/room", `{"preset":"beer","random":0.9}`, 400, "The random-crisis rate must be between 0 and 0.5 per period, not 0.9."},
		{"POST", "/api/supply/room", `{"preset":"beer","policies":{"coordinator":"sterman"}}`, 400, `Role \"coordinator\" places no orders`},
		{"POST", "/api/supply/room", `{"preset":"beer","policies":{"retailer":"oracle"}}`, 400, `Unknown policy \"oracle\" (known: basestock, sterman, learned).`},
		{"POST", "/api/supply/room", `{"preset":"beer","policies":{"retailer":"learned"}}`, 422, "No learned policy is available: train a multi-agent run on the supply world"},
		{"POST", "/api/supply/room", `{"preset":"beer","seed":-1}`, 400, `The field \"seed\" must be a whole number from 0 up.`},
		{"POST", "/api/supply/compare", `{"scenario":"atlantis","seeds":30}`, 404, `No scenario \"atlantis\"`},
		{"POST", "/api/supply/compare", `{"scenario":"beer","seeds":1}`, 400, "A comparison needs 2 to 1000 seeds, not 1."},
		{"POST", "/api/supply/compare", `{"scenario":"beer","seeds":5000}`, 400, "A comparison needs 2 to 1000 seeds, not 5000."},
		{"GET", "/api/supply/comparisons", "", 200, `[]`},
		{"GET", "/api/supply/rooms/abc/disruptions", "", 400, `A room id is a whole number from 1, not \"abc\".`},
		{"GET", "/api/supply/rooms/1/disruptions", "", 200, `[]`},
	} {
		rlDo(t, srv, tc)
	}
	// Of all those crises, only the valid one was added.
	if cs := svc.State().Crises; len(cs) != 1 || cs[0].Lane != "pacific" || cs[0].Start != 2 || cs[0].End != 8 || cs[0].Origin != "user" {
		t.Fatalf("crises after the refusals: %+v", cs)
	}
	// A new room: the beer game, Sterman's rule everywhere, no coordinator.
	body := rlDo(t, srv, rlCase{"POST", "/api/supply/room", `{"preset":"beer","seed":4,"coordinated":false,"policies":{"retailer":"sterman","distributor":"sterman","manufacturer":"sterman"}}`, 201, `"preset": "beer"`})
	var st supply.RoomState
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Seed != 4 || st.Strategy.Coordinated || st.Strategy.Policies[supply.Retailer] != supply.PolicySterman || len(st.Crises) != 0 || len(st.Nodes) != 5 {
		t.Fatalf("new room: seed %d, strategy %+v, %d crises, %d nodes", st.Seed, st.Strategy, len(st.Crises), len(st.Nodes))
	}
	rlDo(t, srv, rlCase{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"pacific","duration":5}`, 400, `Network beer has no lane \"pacific\".`})
	rlDo(t, srv, rlCase{"POST", "/api/supply/crises", `{"kind":"port_closure","lane":"truck-2","duration":5,"capacity":0.5}`, 201, `"lane": "truck-2"`})
}

// TestSupplyRoutesCompare runs a comparison through the API: 202 while it
// queues, 409 for a second one, and its result in /api/supply/comparisons
// and the room's state.
func TestSupplyRoutesCompare(t *testing.T) {
	svc, srv := supplyTestServer(t, supply.ServiceConfig{Tick: 20 * time.Millisecond, Periods: 40}, true)
	rlDo(t, srv, rlCase{"POST", "/api/supply/compare", `{"scenario":"beer","seeds":4}`, 202, `"running": true`})
	rlDo(t, srv, rlCase{"POST", "/api/supply/compare", `{"scenario":"beer","seeds":4}`, 409, "A comparison of beer is running; wait for it to finish."})
	deadline := time.Now().Add(30 * time.Second)
	for svc.State().Compare.Running {
		if time.Now().After(deadline) {
			t.Fatalf("comparison still running: %+v", svc.State().Compare)
		}
		time.Sleep(20 * time.Millisecond)
	}
	body := rlDo(t, srv, rlCase{"GET", "/api/supply/comparisons", "", 200, `"name": "beer"`})
	var cs []supply.Comparison
	if err := json.Unmarshal(body, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Seeds != 4 || len(cs[0].Arms) != 3 || len(cs[0].Paired) != 3 {
		t.Fatalf("comparisons: %+v", cs)
	}
	rlDo(t, srv, rlCase{"GET", "/api/supply/state", "", 200, `"paired": [`})
}
