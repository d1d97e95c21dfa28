package synth

import (
	"math"
	"math/rand/v2"
)

// Site is a supplier, plant or warehouse.
type Site struct {
	ID       int
	Kind     string // "supplier", "plant" or "warehouse"
	City     string
	Lat, Lon float64
	Overseas bool
}

// Lane is a regular route between two sites.
type Lane struct {
	ID        int
	From, To  int // indexes into Network.Sites
	Mode      string
	Km        float64
	PlanDays  float64 // planned lead time
	Variation float64 // log-normal scale of the transit time
}

// Disruption delays shipments on lanes that touch its city, or every lane
// of its mode, between two days of the period.
type Disruption struct {
	Kind     string
	City     string // "" when it hits a mode everywhere
	Mode     string // "" when it hits a city
	From, To int
	MeanDays float64 // mean extra delay
}

// Network is the supply chain every shipment chunk shares.
type Network struct {
	Sites       []Site
	Lanes       []Lane
	Disruptions []Disruption
	laneCDF     []float64
	dayCDF      []float64
	startUnix   int64
}

// overseas are supplier cities abroad, reached by ocean or air.
var overseas = []Region{
	{Name: "Shanghai", Lat: 31.23, Lon: 121.47, Weight: 3},
	{Name: "Shenzhen", Lat: 22.54, Lon: 114.06, Weight: 2.5},
	{Name: "Ho Chi Minh City", Lat: 10.82, Lon: 106.63, Weight: 1.5},
	{Name: "Hamburg", Lat: 53.55, Lon: 9.99, Weight: 1},
	{Name: "Monterrey", Lat: 25.69, Lon: -100.32, Weight: 2},
	{Name: "Busan", Lat: 35.18, Lon: 129.08, Weight: 1},
}

var skuFamilies = []string{"electronics", "apparel", "chemicals", "components", "food", "furniture", "packaging"}

// NewNetwork builds the supply-chain network of a job from its seed.
func NewNetwork(cfg Config) *Network {
	r := newRand(cfg.Seed, streamShipments, math.MaxUint32)
	n := &Network{startUnix: cfg.Start.Unix()}
	add := func(kind string, reg Region, overseas bool) int {
		n.Sites = append(n.Sites, Site{
			ID: len(n.Sites) + 1, Kind: kind, City: reg.Name, Overseas: overseas,
			Lat: reg.Lat + r.NormFloat64()*0.1, Lon: reg.Lon + r.NormFloat64()*0.1,
		})
		return len(n.Sites) - 1
	}
	var suppliers, plants, warehouses []int
	for range 60 {
		if r.Float64() < 0.45 {
			suppliers = append(suppliers, add("supplier", overseas[r.IntN(len(overseas))], true))
		} else {
			suppliers = append(suppliers, add("supplier", regions[pick(r, regionCDFs)], false))
		}
	}
	for range 8 {
		plants = append(plants, add("plant", regions[3+r.IntN(len(regions)-3)], false))
	}
	for range 20 {
		warehouses = append(warehouses, add("warehouse", regions[pick(r, regionCDFs)], false))
	}
	var weights []float64
	lane := func(from, to int) {
		a, b := n.Sites[from], n.Sites[to]
		km := DistanceKm(a.Lat, a.Lon, b.Lat, b.Lon) * 1.25
		l := Lane{ID: len(n.Lanes) + 1, From: from, To: to, Km: km}
		switch {
		case a.Overseas && r.Float64() < 0.15:
			l.Mode, l.PlanDays, l.Variation = "air", 3+km/9000, 0.15
		case a.Overseas:
			l.Mode, l.PlanDays, l.Variation = "ocean", 8+km/650, 0.18
		case km > 1200 && r.Float64() < 0.4:
			l.Mode, l.PlanDays, l.Variation = "rail", 2+km/700, 0.2
		default:
			l.Mode, l.PlanDays, l.Variation = "truck", 1+km/800, 0.12
		}
		n.Lanes = append(n.Lanes, l)
		weights = append(weights, math.Exp(r.NormFloat64()))
	}
	for _, s := range suppliers {
		for k := 0; k < 1+r.IntN(2); k++ {
			lane(s, plants[r.IntN(len(plants))])
		}
	}
	for _, p := range plants {
		for k := 0; k < 4+r.IntN(4); k++ {
			lane(p, warehouses[r.IntN(len(warehouses))])
		}
	}
	n.laneCDF = cumulative(weights)

	kinds := []string{"weather", "port_congestion", "strike", "supplier_failure", "customs_hold"}
	for range max(2, cfg.Days/12) {
		d := Disruption{Kind: kinds[r.IntN(len(kinds))], From: r.IntN(cfg.Days)}
		d.To = min(cfg.Days-1, d.From+2+r.IntN(12))
		switch d.Kind {
		case "port_congestion":
			d.Mode, d.MeanDays = "ocean", 4+6*r.Float64()
		case "strike":
			d.Mode, d.MeanDays = []string{"rail", "truck"}[r.IntN(2)], 1+3*r.Float64()
		case "supplier_failure", "customs_hold":
			d.City, d.MeanDays = n.Sites[suppliers[r.IntN(len(suppliers))]].City, 3+8*r.Float64()
		default:
			d.City, d.MeanDays = n.Sites[r.IntN(len(n.Sites))].City, 1+4*r.Float64()
		}
		n.Disruptions = append(n.Disruptions, d)
	}
	// Orders: weekdays, more towards the end of quarters.
	days := make([]float64, cfg.Days)
	for d := range days {
		t := cfg.Start.AddDate(0, 0, d)
		x := 1.0
		if wd := t.Weekday(); wd == 0 || wd == 6 {
			x = 0.15
		}
		if m := t.Month(); m%3 == 0 && t.Day() > 15 {
			x *= 1.3
		}
		days[d] = x
	}
	n.dayCDF = cumulative(days)
	return n
}

// Shipment is one shipment of an order over a lane.
type Shipment struct {
	ID         int64
	OrderID    int64
	OrderUnix  int64
	ShipUnix   int64
	Lane       *Lane
	Origin     *Site
	Dest       *Site
	SKU        string
	Quantity   int64
	UnitCost   int64 // cents
	PlanDays   float64
	ActualDays float64
	Disruption string
}

// ShipmentChunk returns chunk i of a shipments job.
func ShipmentChunk(n *Network, cfg Config, i int) []Shipment {
	r := newRand(cfg.Seed, streamShipments, uint64(i))
	rows := rowsIn(cfg.Rows, i)
	out := make([]Shipment, 0, rows)
	base := int64(i) * ChunkRows
	for len(out) < rows {
		order := base + int64(len(out)) + 1
		day := pick(r, n.dayCDF)
		orderUnix := n.startUnix + int64(day)*86400 + int64(8+r.IntN(10))*3600 + int64(r.IntN(3600))
		l := &n.Lanes[pick(r, n.laneCDF)]
		sku := skuFamilies[r.IntN(len(skuFamilies))]
		unit := cents(math.Exp(2.5 + 1.2*r.NormFloat64()))
		qty := int64(math.Ceil(math.Exp(5 + 1.1*r.NormFloat64())))
		parts := 1 + b2i(r.Float64() < 0.25) + b2i(r.Float64() < 0.08)
		for p := 0; p < parts && len(out) < rows; p++ {
			s := n.ship(r, l, day+p*(1+r.IntN(5)))
			s.ID = base + int64(len(out)) + 1
			s.OrderID, s.OrderUnix, s.SKU, s.UnitCost = order, orderUnix, sku, unit
			s.Quantity = max(1, qty/int64(parts))
			out = append(out, s)
		}
	}
	return out
}

// ship draws the transit of one shipment leaving around day d.
func (n *Network) ship(r *rand.Rand, l *Lane, d int) Shipment {
	handling := 1 + r.ExpFloat64()*1.5
	if l.Mode == "ocean" {
		handling += 2 + r.ExpFloat64()*2
	}
	shipDay := d + int(handling)
	s := Shipment{
		Lane: l, Origin: &n.Sites[l.From], Dest: &n.Sites[l.To],
		ShipUnix: n.startUnix + int64(shipDay)*86400 + int64(6+r.IntN(12))*3600,
		PlanDays: math.Round(l.PlanDays + 1),
	}
	actual := l.PlanDays * math.Exp(l.Variation*r.NormFloat64()-l.Variation*l.Variation/2)
	if weekday(s.ShipUnix) == 4 && l.Mode == "truck" {
		actual += 1.5 // shipped on a Friday, idle over the weekend
	}
	for _, dis := range n.Disruptions {
		if shipDay < dis.From || shipDay > dis.To {
			continue
		}
		if dis.Mode == l.Mode || dis.City == s.Origin.City || dis.City == s.Dest.City {
			actual += r.ExpFloat64() * dis.MeanDays
			s.Disruption = dis.Kind
			break
		}
	}
	s.ActualDays = math.Round(actual*10) / 10
	return s
}

func (s *Shipment) encode(e *encoder) {
	e.begin()
	e.int("shipment_id", s.ID)
	e.int("order_id", s.OrderID)
	e.date("order_date", s.OrderUnix)
	e.time("ship_time", s.ShipUnix)
	var l Lane
	var from, to Site
	if s.Lane != nil {
		l, from, to = *s.Lane, *s.Origin, *s.Dest
	}
	e.int("lane_id", int64(l.ID))
	e.str("mode", l.Mode)
	e.int("origin_id", int64(from.ID))
	e.str("origin_kind", from.Kind)
	e.str("origin_city", from.City)
	e.int("dest_id", int64(to.ID))
	e.str("dest_kind", to.Kind)
	e.str("dest_city", to.City)
	e.float("distance_km", math.Round(l.Km), 0)
	e.str("sku_family", s.SKU)
	e.int("quantity", s.Quantity)
	e.money("unit_cost", s.UnitCost)
	e.money("value", s.UnitCost*s.Quantity)
	e.float("planned_lead_days", s.PlanDays, 0)
	e.float("actual_lead_days", s.ActualDays, 1)
	e.float("delay_days", math.Max(0, s.ActualDays-s.PlanDays), 1)
	e.bool("on_time", s.ActualDays <= s.PlanDays)
	e.str("disruption", s.Disruption)
	e.end()
}
