package synth

import "math"

// Region is a metropolitan area where customers live and merchants trade.
type Region struct {
	Name     string
	Lat, Lon float64
	Weight   float64 // share of the population
}

// regions are twenty US metropolitan areas weighted roughly by population.
var regions = []Region{
	{"New York", 40.71, -74.01, 19.8},
	{"Los Angeles", 34.05, -118.24, 13.2},
	{"Chicago", 41.88, -87.63, 9.5},
	{"Dallas", 32.78, -96.80, 7.6},
	{"Houston", 29.76, -95.37, 7.1},
	{"Washington", 38.91, -77.04, 6.3},
	{"Miami", 25.76, -80.19, 6.1},
	{"Philadelphia", 39.95, -75.17, 6.2},
	{"Atlanta", 33.75, -84.39, 6.1},
	{"Phoenix", 33.45, -112.07, 4.9},
	{"Boston", 42.36, -71.06, 4.9},
	{"San Francisco", 37.77, -122.42, 4.7},
	{"Seattle", 47.61, -122.33, 4.0},
	{"Minneapolis", 44.98, -93.27, 3.7},
	{"San Diego", 32.72, -117.16, 3.3},
	{"Denver", 39.74, -104.99, 3.0},
	{"St. Louis", 38.63, -90.20, 2.8},
	{"Portland", 45.52, -122.68, 2.5},
	{"Las Vegas", 36.17, -115.14, 2.3},
	{"Nashville", 36.16, -86.78, 2.0},
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
