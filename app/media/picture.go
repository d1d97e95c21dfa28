package media

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"sort"

	"golang.org/x/image/draw"
)

// orient turns img upright by its EXIF orientation (1..8).
func orient(img image.Image, o int) image.Image {
	if o <= 1 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			dst.Set(dx, dy, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return dst
}

// scaled returns img shrunk to fit in max × max (never enlarged).
func scaled(img image.Image, max int) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > max || h > max {
		if w >= h {
			w, h = max, int(math.Max(1, math.Round(float64(h)*float64(max)/float64(b.Dx()))))
		} else {
			w, h = int(math.Max(1, math.Round(float64(w)*float64(max)/float64(b.Dy())))), max
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// Colour is one of an image's main colours.
type Colour struct {
	Name  string  `json:"name"`
	Hex   string  `json:"hex"`
	Share float64 `json:"share"`
}

// palette names colours for words in a memory ("mostly blue and white").
var namedColours = []struct {
	name    string
	r, g, b float64
}{
	{"black", 0, 0, 0}, {"white", 255, 255, 255}, {"grey", 128, 128, 128}, {"red", 220, 30, 30},
	{"orange", 245, 140, 20}, {"yellow", 240, 220, 40}, {"green", 40, 170, 60}, {"cyan", 40, 200, 220},
	{"blue", 40, 80, 220}, {"purple", 140, 60, 190}, {"pink", 240, 130, 190}, {"brown", 130, 80, 40},
	{"dark blue", 20, 30, 90}, {"dark green", 20, 80, 30}, {"light grey", 200, 200, 200}, {"dark grey", 60, 60, 60},
}

func colourName(r, g, b float64) string {
	best, bd := "", math.Inf(1)
	for _, p := range namedColours {
		d := (r-p.r)*(r-p.r) + (g-p.g)*(g-p.g) + (b-p.b)*(b-p.b)
		if d < bd {
			best, bd = p.name, d
		}
	}
	return best
}

// histogram is an image's colour histogram: 8 bins per RGB channel
// (normalised to sum 1 each), its brightness, and the main colours found by
// a 4×4×4 quantisation.
func histogram(img *image.RGBA) (hist [3][8]float64, brightness float64, main []Colour) {
	var cube [64]struct{ n, r, g, b float64 }
	px := img.Pix
	n := 0.0
	for i := 0; i+3 < len(px); i += 4 {
		r, g, b := px[i], px[i+1], px[i+2]
		hist[0][r>>5]++
		hist[1][g>>5]++
		hist[2][b>>5]++
		c := &cube[int(r>>6)<<4|int(g>>6)<<2|int(b>>6)]
		c.n++
		c.r += float64(r)
		c.g += float64(g)
		c.b += float64(b)
		brightness += 0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)
		n++
	}
	if n == 0 {
		return
	}
	for c := range hist {
		for i := range hist[c] {
			hist[c][i] = round3(hist[c][i] / n)
		}
	}
	brightness = round3(brightness / n / 255)
	byName := map[string]*Colour{}
	for _, c := range cube {
		if c.n == 0 {
			continue
		}
		r, g, b := c.r/c.n, c.g/c.n, c.b/c.n
		name := colourName(r, g, b)
		if byName[name] == nil {
			byName[name] = &Colour{Name: name, Hex: hexColour(r, g, b)}
		}
		byName[name].Share += c.n / n
	}
	for _, c := range byName {
		c.Share = round3(c.Share)
		if c.Share >= 0.05 {
			main = append(main, *c)
		}
	}
	sort.Slice(main, func(i, j int) bool {
		if main[i].Share != main[j].Share {
			return main[i].Share > main[j].Share
		}
		return main[i].Name < main[j].Name
	})
	if len(main) > 4 {
		main = main[:4]
	}
	return
}

func hexColour(r, g, b float64) string {
	const digits = "0123456789abcdef"
	out := []byte{'#'}
	for _, v := range []float64{r, g, b} {
		x := int(math.Round(v))
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

// pHash is the DCT perceptual hash (Zauner 2010): the image as 32×32 grey,
// its 2-D DCT-II, the 8×8 lowest frequencies but the DC term compared with
// their median, one bit each. Near-identical pictures (resized,
// recompressed, slightly retouched) differ in a few bits.
func pHash(img image.Image) uint64 {
	const n = 32
	small := image.NewGray(image.Rect(0, 0, n, n))
	draw.ApproxBiLinear.Scale(small, small.Bounds(), img, img.Bounds(), draw.Src, nil)
	var px [n][n]float64
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			px[y][x] = float64(small.GrayAt(x, y).Y)
		}
	}
	var cos [8][n]float64
	for u := 0; u < 8; u++ {
		for x := 0; x < n; x++ {
			cos[u][x] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / (2 * n))
		}
	}
	// Rows first (only the 8 lowest frequencies are needed), then columns.
	var rows [n][8]float64
	for y := 0; y < n; y++ {
		for u := 0; u < 8; u++ {
			s := 0.0
			for x := 0; x < n; x++ {
				s += px[y][x] * cos[u][x]
			}
			rows[y][u] = s
		}
	}
	var coef [64]float64
	for v := 0; v < 8; v++ {
		for u := 0; u < 8; u++ {
			s := 0.0
			for y := 0; y < n; y++ {
				s += rows[y][u] * cos[v][y]
			}
			coef[v*8+u] = s
		}
	}
	vals := append([]float64(nil), coef[1:]...)
	sort.Float64s(vals)
	median := vals[len(vals)/2]
	var h uint64
	for i := 0; i < 64; i++ {
		if i > 0 && coef[i] > median {
			h |= 1 << uint(i)
		}
	}
	return h
}

// encodeJPEG encodes a thumbnail.
func encodeJPEG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodePNG encodes a picture with few colours (a waveform).
func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// flatten draws img on white (a transparent PNG's thumbnail as JPEG).
func flatten(img image.Image) *image.RGBA {
	dst := image.NewRGBA(img.Bounds())
	draw.Draw(dst, dst.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, img.Bounds().Min, draw.Over)
	return dst
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
