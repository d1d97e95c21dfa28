package synth

import "math"

// Region is a metropolitan area where customers live and merchants trade.
type Region struct {
	Name      string
	Lat, Lon  float64
	Weight    float64 // share of the population
	UTCOffset int     // standard time, hours east of UTC
	NoDST     bool    // keeps standard time all year (Arizona)
}

// regions are twenty US metropolitan areas weighted roughly by population.
var regions = []Region{
	{"New York", 40.71, -74.01, 19.8, -5, false},
	{"Los Angeles", 34.05, -118.24, 13.2, -8, false},
	{"Chicago", 41.88, -87.63, 9.5, -6, false},
	{"Dallas", 32.78, -96.80, 7.6, -6, false},
	{"Houston", 29.76, -95.37, 7.1, -6, false},
	{"Washington", 38.91, -77.04, 6.3, -5, false},
	{"Miami", 25.76, -80.19, 6.1, -5, false},
	{"Philadelphia", 39.95, -75.17, 6.2, -5, false},
	{"Atlanta", 33.75, -84.39, 6.1, -5, false},
	{"Phoenix", 33.45, -112.07, 4.9, -7, true},
	{"Boston", 42.36, -71.06, 4.9, -5, false},
	{"San Francisco", 37.77, -122.42, 4.7, -8, false},
	{"Seattle", 47.61, -122.33, 4.0, -8, false},
	{"Minneapolis", 44.98, -93.27, 3.7, -6, false},
	{"San Diego", 32.72, -117.16, 3.3, -8, false},
	{"Denver", 39.74, -104.99, 3.0, -7, false},
	{"St. Louis", 38.63, -90.20, 2.8, -6, false},
	{"Portland", 45.52, -122.68, 2.5, -8, false},
	{"Las Vegas", 36.17, -115.14, 2.3, -8, false},
	{"Nashville", 36.16, -86.78, 2.0, -6, false},
}

// regionCDFs is the cumulative population weight of regions.
var regionCDFs = func() []float64 {
	w := make([]float64, len(regions))
	for i, r := range regions {
		w[i] = r.Weight
	}
	return cumulative(w)
}()

// DistanceKm is the great-circle distance between two points in kilometres.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371.0
	const rad = math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// RegionAt returns region i.
func RegionAt(i int) Region { return regions[i] }

// isDST reports whether US daylight saving time is in force on a local
// day (days since 1970-01-01): from the second Sunday of March to the
// first Sunday of November.
func isDST(days int64) bool {
	_, m, d := civil(days)
	wd := int((days + 3) % 7) // 0 Monday .. 6 Sunday
	if wd < 0 {
		wd += 7
	}
	// The Sunday on or before this day falls on day sun of the month.
	sun := d - (wd+1)%7
	switch {
	case m > 3 && m < 11:
		return true
	case m == 3:
		return sun > 7 // past the second Sunday (its day is 8..14)
	case m == 11:
		return sun < 1 // before the first Sunday
	}
	return false
}

// offset returns the seconds to add to UTC for local time in region reg on
// local day days.
func offset(reg uint8, days int64) int64 {
	r := &regions[reg]
	h := r.UTCOffset
	if !r.NoDST && isDST(days) {
		h++
	}
	return int64(h) * 3600
}

// LocalUnix returns the local time of a transaction, in seconds since 1970
// as if the local clock were UTC: LocalUnix % 86400 is its local time of day.
func LocalUnix(t *Transaction) int64 {
	u := t.Unix + int64(regions[t.Region].UTCOffset)*3600
	return t.Unix + offset(t.Region, floorDiv(u, 86400))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
