package mlops

import "hash/fnv"

// Bucket maps a request key to a number in [0, 1), the same for the same
// salt and key. The canary serves the keys whose bucket is below its share,
// so one customer or agent keeps seeing one model; the salt (the model and
// the challenger's version) reshuffles keys for every new canary.
func Bucket(salt, key string) float64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(key))
	// FNV's low bits mix poorly for short keys: finish with SplitMix64.
	z := h.Sum64()
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// InCanary reports whether key is served by the challenger at share.
func InCanary(salt, key string, share float64) bool {
	return key != "" && share > 0 && Bucket(salt, key) < share
}
