package synth

import (
	"testing"
)

// Shipments behave like a supply chain: ocean is slower than truck,
// disruptions delay, most shipments arrive on time, orders group shipments.
func TestShipmentsShape(t *testing.T) {
	cfg := Config{Seed: 2, Rows: 3 * ChunkRows}.Normalize()
	net := NewNetwork(cfg)
	var rows []Shipment
	for i := range chunks(cfg.Rows) {
		rows = append(rows, ShipmentChunk(net, cfg, i)...)
	}
	lead := map[string][]float64{}
	var onTime, disrupted, disruptedLate int
	var delayed, plain []float64
	orders := map[int64]int{}
	for _, s := range rows {
		lead[s.Lane.Mode] = append(lead[s.Lane.Mode], s.ActualDays)
		if s.ActualDays <= s.PlanDays {
			onTime++
		}
		d := s.ActualDays - s.PlanDays
		if s.Disruption != "" {
			disrupted++
			delayed = append(delayed, d)
			if d > 0 {
				disruptedLate++
			}
		} else {
			plain = append(plain, d)
		}
		orders[s.OrderID]++
		if s.Quantity < 1 || s.UnitCost <= 0 {
			t.Fatalf("shipment %d: quantity %d, unit cost %d", s.ID, s.Quantity, s.UnitCost)
		}
	}
	if mean(lead["ocean"]) < 2*mean(lead["truck"]) {
		t.Errorf("ocean %.1f days, truck %.1f", mean(lead["ocean"]), mean(lead["truck"]))
	}
	share := float64(onTime) / float64(len(rows))
	if share < 0.6 || share > 0.95 {
		t.Errorf("on-time share %.2f", share)
	}
	if disrupted == 0 || mean(delayed) < mean(plain)+1 {
		t.Errorf("%d disrupted shipments, mean delay %.2f vs %.2f", disrupted, mean(delayed), mean(plain))
	}
	if len(orders) == len(rows) {
		t.Error("no order has more than one shipment")
	}
	t.Logf("on time %.2f, disrupted %d (%.0f%% late), ocean %.1f d, truck %.1f d, %d orders",
		share, disrupted, 100*float64(disruptedLate)/float64(max(1, disrupted)), mean(lead["ocean"]), mean(lead["truck"]), len(orders))
}

// Employees: pay sits in its band, and people who leave were less engaged.
func TestEmployeesShape(t *testing.T) {
	cfg := Config{Seed: 3, Rows: 4 * ChunkRows, Days: 365}.Normalize()
	org := NewOrg(cfg)
	var left, stayed []float64
	for i := range chunks(cfg.Rows) {
		for _, e := range EmployeeChunk(org, cfg, i) {
			if e.Salary < e.bandMin-100 || e.Salary > e.bandMax+100 {
				t.Fatalf("employee %d: salary %d outside [%d, %d]", e.ID, e.Salary, e.bandMin, e.bandMax)
			}
			if e.LeftUnix != 0 {
				left = append(left, e.Engagement)
			} else {
				stayed = append(stayed, e.Engagement)
			}
		}
	}
	rate := float64(len(left)) / float64(cfg.Rows)
	if rate < 0.05 || rate > 0.3 {
		t.Errorf("yearly attrition %.2f", rate)
	}
	if mean(left) > mean(stayed)-5 {
		t.Errorf("engagement of leavers %.1f, of stayers %.1f", mean(left), mean(stayed))
	}
	t.Logf("attrition %.3f; engagement %.1f (left) vs %.1f (stayed)", rate, mean(left), mean(stayed))
}
