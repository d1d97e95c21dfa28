package supply

import (
	"slices"

	"github.com/metastation/metastation/app/errs"
)

// Presets are the networks the crisis room and the comparison know by name.
var presetNames = []string{"beer", "orgym", "global"}

// PresetNames lists the presets.
func PresetNames() []string { return slices.Clone(presetNames) }

// Preset returns a fresh copy of the named network.
func Preset(name string) (*Network, error) {
	switch name {
	case "beer":
		return BeerGame(), nil
	case "orgym":
		return ORGym(), nil
	case "global":
		return Global(), nil
	}
	return nil, errs.Errorf(errs.NotFound, "no network preset %q (known: beer, orgym, global)", name)
}

// BeerGame is the MIT beer game as Sterman (1989) ran it: retailer,
// wholesaler, distributor and factory, each starting with 12 cases, two
// weeks of shipping delay and one of order mailing delay between them
// (the factory's production: one week to request, two to brew), every
// pipeline slot holding 4 cases; holding costs 0.5 and backorders 1.0 per
// case-week at every echelon; customer demand 4 cases a week, stepping to
// 8 in week 5 and staying there; 36 weeks. The brewery's raw materials are
// unlimited unless a crisis cuts them.
func BeerGame() *Network {
	node := func(id, name string, role Role, x float64) Node {
		return Node{ID: id, Name: name, Kind: Stock, Role: role, Init: 12, Holding: 0.5, BackorderCost: 1, X: x, Y: 0.5}
	}
	lane := func(from, to, name string) Edge {
		return Edge{From: from, To: to, Lead: 2, OrderDelay: 1, Lane: name, InitPipe: []float64{4, 4}, InitOrders: []float64{4}}
	}
	return &Network{
		Name: "beer", Title: "MIT beer game (Sterman 1989)",
		Nodes: []Node{
			node("retailer", "Retailer", Retailer, 0.86),
			node("wholesaler", "Wholesaler", Distributor, 0.64),
			node("distributor", "Distributor", Distributor, 0.42),
			node("factory", "Factory", Manufacturer, 0.2),
			{ID: "brewery", Name: "Raw materials", Kind: Source, Role: Supplier, X: 0.04, Y: 0.5},
		},
		Edges: []Edge{
			lane("wholesaler", "retailer", "truck-1"),
			lane("distributor", "wholesaler", "truck-2"),
			lane("factory", "distributor", "truck-3"),
			lane("brewery", "factory", "brewing"),
		},
		Markets: []Market{{ID: "customers", Retail: "retailer", Penalty: 1,
			Demand: Demand{Kind: "step", Before: 4, After: 8, At: 4}}},
		Periods: 36, BackorderDemand: true, BackorderOrders: true, Discount: 1,
	}
}

// ORGym is OR-Gym's NetworkManagement network (NetInvMgmtMasterEnv in
// or_gym/envs/supply_chain/network_management.py, github.com/hubbs5/or-gym
// at 0b18d16): market 0, retailer 1, distributors 2 and 3, manufacturers
// 4, 5 and 6, raw materials 7 and 8, with its initial inventories,
// capacities, yields, holding, operating, purchase and pipeline costs and
// lead times; Poisson demand of mean 20 with backlog (its backlog
// variant); 30 periods. Orders a supplier cannot fill are lost, as there.
// Lanes are listed in OR-Gym's reorder_links order, so an OR-Gym action
// vector is an orders vector here.
func ORGym() *Network {
	src := func(id string, y float64) Node {
		return Node{ID: id, Name: "raw materials " + id, Kind: Source, Role: Supplier, X: 0.05, Y: y}
	}
	fac := func(id string, init, c, o, h, y float64) Node {
		return Node{ID: id, Name: "manufacturer " + id, Kind: Factory, Role: Manufacturer, Init: init, Capacity: c, Operating: o, Yield: 1, Holding: h, X: 0.3, Y: y}
	}
	e := func(from, to string, l int, p, g float64) Edge {
		return Edge{From: from, To: to, Lead: l, Price: p, PipeHolding: g, Lane: from + "-" + to}
	}
	return &Network{
		Name: "orgym", Title: "OR-Gym NetworkManagement (NetInvMgmt, backlog)",
		Nodes: []Node{
			{ID: "1", Name: "retailer 1", Kind: Stock, Role: Retailer, Init: 100, Holding: 0.030, X: 0.85, Y: 0.5},
			{ID: "2", Name: "distributor 2", Kind: Stock, Role: Distributor, Init: 110, Holding: 0.020, X: 0.6, Y: 0.3},
			{ID: "3", Name: "distributor 3", Kind: Stock, Role: Distributor, Init: 80, Holding: 0.015, X: 0.6, Y: 0.7},
			fac("4", 400, 90, 0.010, 0.012, 0.2),
			fac("5", 350, 90, 0.015, 0.013, 0.5),
			fac("6", 380, 80, 0.012, 0.011, 0.8),
			src("7", 0.3), src("8", 0.7),
		},
		Edges: []Edge{
			e("2", "1", 5, 1.500, 0.010),
			e("3", "1", 3, 1.600, 0.015),
			e("4", "2", 8, 1.000, 0.008),
			e("4", "3", 10, 0.800, 0.006),
			e("5", "2", 9, 0.700, 0.005),
			e("6", "2", 11, 0.750, 0.007),
			e("6", "3", 12, 0.800, 0.004),
			e("7", "4", 0, 0.150, 0.000),
			e("7", "5", 1, 0.050, 0.005),
			e("8", "5", 2, 0.070, 0.002),
			e("8", "6", 0, 0.200, 0.000),
		},
		Markets: []Market{{ID: "0", Retail: "1", Price: 2.000, Penalty: 0.100, Demand: Demand{Kind: "poisson", Mean: 20}}},
		Periods: 30, BackorderDemand: true, BackorderOrders: false, Discount: 1,
	}
}

// Global has two sourcing regions and an ocean lane between them and the
// home market: Asian raw materials and a large, cheap factory six weeks
// away across the "pacific" lane; European materials and a smaller,
// dearer factory two weeks away across the "atlantic" lane; a distribution
// centre and a retailer at home facing Poisson demand of 20 a week. The
// pipelines start full at the normal flow (70 % from Asia). 80 weeks.
func Global() *Network {
	return &Network{
		Name: "global", Title: "Global network: two sourcing regions and an ocean lane",
		Nodes: []Node{
			{ID: "src-asia", Name: "Asian suppliers", Kind: Source, Role: Supplier, Region: "asia", X: 0.04, Y: 0.25},
			{ID: "factory-asia", Name: "Asian factory", Kind: Factory, Role: Manufacturer, Region: "asia", Init: 40, Capacity: 30, Yield: 1, Operating: 0.2, Holding: 0.1, BackorderCost: 0.2, X: 0.24, Y: 0.25},
			{ID: "src-eu", Name: "European suppliers", Kind: Source, Role: Supplier, Region: "europe", X: 0.04, Y: 0.75},
			{ID: "factory-eu", Name: "European factory", Kind: Factory, Role: Manufacturer, Region: "europe", Init: 20, Capacity: 18, Yield: 1, Operating: 0.5, Holding: 0.15, BackorderCost: 0.2, X: 0.24, Y: 0.75},
			{ID: "dc", Name: "Distribution centre", Kind: Stock, Role: Distributor, Region: "home", Init: 70, Holding: 0.3, BackorderCost: 0.5, X: 0.62, Y: 0.5},
			{ID: "retailer", Name: "Retailer", Kind: Stock, Role: Retailer, Region: "home", Init: 40, Holding: 0.5, X: 0.86, Y: 0.5},
		},
		Edges: []Edge{
			{From: "src-asia", To: "factory-asia", Lead: 1, Price: 1.0, Lane: "asia-inland", InitPipe: []float64{14}},
			{From: "src-eu", To: "factory-eu", Lead: 1, Price: 1.6, Lane: "eu-inland", InitPipe: []float64{6}},
			{From: "factory-asia", To: "dc", Lead: 6, Capacity: 40, PipeHolding: 0.05, Lane: "pacific", Share: 0.7, InitPipe: []float64{14, 14, 14, 14, 14, 14}},
			{From: "factory-eu", To: "dc", Lead: 2, Capacity: 25, PipeHolding: 0.05, Lane: "atlantic", Share: 0.3, InitPipe: []float64{6, 6}},
			{From: "dc", To: "retailer", Lead: 1, Capacity: 45, Lane: "last-mile", InitPipe: []float64{20}},
		},
		Markets: []Market{{ID: "home", Retail: "retailer", Penalty: 2, Demand: Demand{Kind: "poisson", Mean: 20}}},
		Periods: 80, BackorderDemand: true, BackorderOrders: true, Discount: 1,
	}
}
