package media

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Test files are drawn, synthesised and written here, so the suite needs
// no binary fixtures.

// pdfFile writes a PDF whose pages show the given lines in Helvetica, with
// a correct cross-reference table. Each page's content stream is
// flate-compressed when compress is set.
func pdfFile(pages [][]string, compress bool) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(pages)
	// 1 catalog, 2 pages, 3 font, then page i at 4+2i and its content at 5+2i.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := []string{}
	for i := 0; i < n; i++ {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, lines := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		var c strings.Builder
		c.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
		for _, l := range lines {
			l = strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l)
			fmt.Fprintf(&c, "(%s) Tj T*\n", l)
		}
		c.WriteString("ET\n")
		data := []byte(c.String())
		filter := ""
		if compress {
			data, filter = zlibBytes(data), " /Filter /FlateDecode"
		}
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d%s >>\nstream\n", len(offs), len(data), filter)
		b.Write(data)
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// pdfBomb is a valid one-page PDF with an extra stream that inflates to n
// zero bytes.
func pdfBomb(n int) []byte {
	doc := pdfFile([][]string{{"A harmless page."}}, false)
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(zero) {
		w.Write(zero[:min(left, len(zero))])
	}
	w.Close()
	// Insert the bomb object before the xref; the xref offsets before it
	// stay right, and the library never needs the extra object.
	i := bytes.Index(doc, []byte("xref\n"))
	bomb := fmt.Sprintf("99 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", z.Len())
	out := append([]byte{}, doc[:i]...)
	out = append(out, bomb...)
	out = append(out, z.Bytes()...)
	out = append(out, "\nendstream\nendobj\n"...)
	// The startxref must point at the moved xref.
	tail := string(doc[i:])
	moved := len(out)
	tail = tail[:strings.LastIndex(tail, "startxref\n")] + fmt.Sprintf("startxref\n%d\n%%%%EOF\n", moved)
	return append(out, tail...)
}

func zlibBytes(b []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}

// chartPNG draws a price chart: axes, a rising blue line, and a caption in
// large letters for OCR.
func chartImage(w, h int, caption string, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	rng := rand.New(rand.NewPCG(seed, 1))
	y := float64(h) * 0.7
	for x := 20; x < w-20; x++ {
		y += rng.NormFloat64()*1.5 - 0.3
		y = math.Max(20, math.Min(float64(h)-20, y))
		for d := -2; d <= 2; d++ {
			img.Set(x, int(y)+d, color.RGBA{30, 60, 220, 255})
		}
	}
	for x := 20; x < w-20; x++ {
		img.Set(x, h-20, color.Black)
	}
	if caption != "" {
		drawText(img, caption, 24, 30, 3)
	}
	return img
}

// drawText writes s with basicfont's 7×13 face scaled up by k.
func drawText(dst *image.RGBA, s string, x, y, k int) {
	small := image.NewRGBA(image.Rect(0, 0, 7*len(s)+4, 16))
	draw.Draw(small, small.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(2, 12)}
	d.DrawString(s)
	b := small.Bounds()
	for sy := 0; sy < b.Dy(); sy++ {
		for sx := 0; sx < b.Dx(); sx++ {
			c := small.RGBAAt(sx, sy)
			for dy := 0; dy < k; dy++ {
				for dx := 0; dx < k; dx++ {
					dst.SetRGBA(x+sx*k+dx, y+sy*k+dy, c)
				}
			}
		}
	}
}

func pngBytes(img image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func jpegBytes(img image.Image, q int) []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: q})
	return b.Bytes()
}

// withEXIF inserts an APP1 EXIF segment (orientation, camera, time) after a
// JPEG's SOI.
func withEXIF(j []byte, orientation uint16, taken string) []byte {
	le := binary.LittleEndian
	var t bytes.Buffer
	t.WriteString("II")
	binary.Write(&t, le, uint16(42))
	binary.Write(&t, le, uint32(8))
	// IFD0: orientation, make, ExifIFD pointer.
	ifd0 := 8
	entries0 := 3
	exifIFD := ifd0 + 2 + entries0*12 + 4
	makeOff := exifIFD + 2 + 1*12 + 4
	dateOff := makeOff + 8
	binary.Write(&t, le, uint16(entries0))
	entry := func(tag, typ uint16, count, val uint32) {
		binary.Write(&t, le, tag)
		binary.Write(&t, le, typ)
		binary.Write(&t, le, count)
		binary.Write(&t, le, val)
	}
	entry(0x010f, 2, 8, uint32(makeOff))
	entry(0x0112, 3, 1, uint32(orientation))
	entry(0x8769, 4, 1, uint32(exifIFD))
	binary.Write(&t, le, uint32(0))
	binary.Write(&t, le, uint16(1))
	entry(0x9003, 2, 20, uint32(dateOff))
	binary.Write(&t, le, uint32(0))
	t.WriteString("Testcam\x00")
	t.WriteString(taken + "\x00")
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	var out bytes.Buffer
	out.Write(j[:2])
	out.Write([]byte{0xff, 0xe1})
	binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(j[2:])
	return out.Bytes()
}

// animatedGIF draws n frames of a moving square.
func animatedGIF(n int) []byte {
	g := &gif.GIF{}
	for i := 0; i < n; i++ {
		f := image.NewPaletted(image.Rect(0, 0, 64, 48), palette.Plan9)
		draw.Draw(f, f.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
		draw.Draw(f, image.Rect(4*i, 10, 4*i+16, 26), &image.Uniform{C: color.RGBA{200, 0, 0, 255}}, image.Point{}, draw.Src)
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	gif.EncodeAll(&b, g)
	return b.Bytes()
}

// speechLike synthesises rate Hz mono audio: voiced bursts (a 150 Hz
// harmonic series with a syllable envelope) separated by silence, as
// (start, end) seconds of sound.
func speechLike(rate int, bursts [][2]float64, total float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]float64, int(total*float64(rate)))
	for i := range out {
		t := float64(i) / float64(rate)
		out[i] = rng.NormFloat64() * 0.0005 // room noise far below the speech
		for _, b := range bursts {
			if t >= b[0] && t < b[1] {
				env := math.Sin(math.Pi * (t - b[0]) / (b[1] - b[0]))
				syl := 0.6 + 0.4*math.Sin(2*math.Pi*4*t)
				v := 0.0
				for h := 1; h <= 8; h++ {
					v += math.Sin(2*math.Pi*150*float64(h)*t) / float64(h)
				}
				out[i] += 0.3 * env * syl * v
			}
		}
	}
	return out
}

// wavBytes writes 16-bit PCM.
func wavBytes(rate, channels int, samples []float64) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	data := len(samples) * 2
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, uint16(channels))
	binary.Write(&b, le, uint32(rate))
	binary.Write(&b, le, uint32(rate*channels*2))
	binary.Write(&b, le, uint16(channels*2))
	binary.Write(&b, le, uint16(16))
	b.WriteString("data")
	binary.Write(&b, le, uint32(data))
	for _, s := range samples {
		binary.Write(&b, le, int16(math.Max(-1, math.Min(1, s))*32767))
	}
	return b.Bytes()
}

// flacBytes encodes 16-bit mono samples with mewkiz/flac's encoder.
func flacBytes(rate int, samples []float64) ([]byte, error) {
	var b bytes.Buffer
	info := &meta.StreamInfo{BlockSizeMin: 4096, BlockSizeMax: 4096, SampleRate: uint32(rate), NChannels: 1, BitsPerSample: 16, NSamples: uint64(len(samples))}
	enc, err := flac.NewEncoder(&b, info)
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(samples); start += 4096 {
		end := min(start+4096, len(samples))
		sub := make([]int32, end-start)
		for i := range sub {
			sub[i] = int32(math.Max(-1, math.Min(1, samples[start+i])) * 32767)
		}
		f := &frame.Frame{
			Header:    frame.Header{HasFixedBlockSize: true, BlockSize: uint16(len(sub)), SampleRate: uint32(rate), Channels: frame.ChannelsMono, BitsPerSample: 16},
			Subframes: []*frame.Subframe{{SubHeader: frame.SubHeader{Pred: frame.PredVerbatim}, Samples: sub, NSamples: len(sub)}},
		}
		if err := enc.WriteFrame(f); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// mp4Box and friends write a minimal ISO BMFF file for the box parser.
func mp4Box(typ string, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	out := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(out, uint32(8+len(body)))
	copy(out[4:], typ)
	return append(out, body...)
}

func u32s(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
	return b
}

// tinyMP4 is a movie of frames at fps, w × h, H.264-labelled, keyframes
// every gop frames, with an AAC track; mdat holds junk of the right size.
func tinyMP4(w, h, frames, fps, gop int) []byte {
	const ts = 12800
	dur := uint32(frames * ts / fps)
	tkhd := append(u32s(0, 0, 0, 1, 0, dur, 0, 0, 0, 0, 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000), u32s(uint32(w)<<16, uint32(h)<<16)...)
	mdhd := u32s(0, 0, 0, ts, dur, 0)
	hdlr := func(h string) []byte { return append(append(u32s(0, 0), h...), make([]byte, 13)...) }
	visual := append(make([]byte, 24), byte(w>>8), byte(w), byte(h>>8), byte(h))
	visual = append(visual, make([]byte, 50)...)
	stsd := append(u32s(0, 1), mp4Box("avc1", visual)...)
	stts := u32s(0, 1, uint32(frames), uint32(ts/fps))
	var keys []uint32
	for i := 1; i <= frames; i += gop {
		keys = append(keys, uint32(i))
	}
	stss := append(u32s(0, uint32(len(keys))), u32s(keys...)...)
	vtrak := mp4Box("trak", mp4Box("tkhd", tkhd), mp4Box("mdia", mp4Box("mdhd", mdhd), mp4Box("hdlr", hdlr("vide")),
		mp4Box("minf", mp4Box("stbl", mp4Box("stsd", stsd), mp4Box("stts", stts), mp4Box("stss", stss)))))
	audio := append(make([]byte, 24), 0xac, 0x44, 0, 0)
	atrak := mp4Box("trak", mp4Box("tkhd", append(u32s(0, 0, 0, 2, 0, dur), make([]byte, 60)...)), mp4Box("mdia", mp4Box("mdhd", u32s(0, 0, 0, 44100, uint32(frames*44100/fps), 0)),
		mp4Box("hdlr", hdlr("soun")), mp4Box("minf", mp4Box("stbl", mp4Box("stsd", append(u32s(0, 1), mp4Box("mp4a", audio)...)), mp4Box("stts", u32s(0, 1, uint32(frames*44100/fps/1024), 1024))))))
	moov := mp4Box("moov", mp4Box("mvhd", append(u32s(0, 0, 0, ts, dur), make([]byte, 80)...)), vtrak, atrak)
	return bytes.Join([][]byte{mp4Box("ftyp", []byte("isom"), u32s(0x200), []byte("isomavc1")), moov, mp4Box("mdat", make([]byte, 4096))}, nil)
}

// marketCSV writes n days of prices in Yahoo Finance's columns.
func marketCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Date,Open,High,Low,Close,Adj Close,Volume\n")
	p := 100.0
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < n; i++ {
		d := 20000 + i
		o := p
		p *= math.Exp(rng.NormFloat64() * 0.01)
		fmt.Fprintf(&b, "%s,%.2f,%.2f,%.2f,%.2f,%.2f,%d\n", dayString(d), o, math.Max(o, p)*1.005, math.Min(o, p)*0.995, p, p, 1000000+rng.IntN(500000))
	}
	return b.Bytes()
}

func dayString(d int) string {
	y, m, dd := unixDay(d)
	return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
}

func unixDay(d int) (int, int, int) {
	t := int64(d) * 86400
	tm := timeUnix(t)
	return tm.Year(), int(tm.Month()), tm.Day()
}

// animatedFrame is a picture unlike the charts: a red square on black.
func animatedFrame() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 300, 300))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: color.Black}, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(50, 150, 250, 290), &image.Uniform{C: color.RGBA{220, 20, 20, 255}}, image.Point{}, draw.Src)
	return img
}

// scannedPDF is a one-page PDF whose page is only a JPEG picture (no text
// layer), as a scanner writes.
func scannedPDF(j []byte, w, h int) []byte {
	var b bytes.Buffer
	var offs []int
	b.WriteString("%PDF-1.4\n")
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 396] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>")
	offs = append(offs, b.Len())
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n", w, h, len(j))
	b.Write(j)
	b.WriteString("\nendstream\nendobj\n")
	content := "q 612 0 0 396 0 0 cm /Im1 Do Q\n"
	offs = append(offs, b.Len())
	fmt.Fprintf(&b, "5 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}
