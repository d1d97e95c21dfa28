package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// gifFrames is what scanning a GIF's blocks finds, without decoding a frame.
type gifFrames struct {
	Width, Height int
	Frames        int
	Pixels        int64   // sum of the frames' pixels: what decoding them all would write
	Seconds       float64 // sum of the frames' delays
}

var errGIF = errors.New("malformed GIF")

// scanGIF walks a GIF's blocks (skipping each frame's compressed data) and
// stops with an error past maxFrames, so a bomb of a million frames costs a
// bounded read.
func scanGIF(r io.Reader, maxFrames int) (gifFrames, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var g gifFrames
	hdr := make([]byte, 13)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return g, errGIF
	}
	if string(hdr[:3]) != "GIF" {
		return g, errGIF
	}
	g.Width, g.Height = int(binary.LittleEndian.Uint16(hdr[6:])), int(binary.LittleEndian.Uint16(hdr[8:]))
	if hdr[10]&0x80 != 0 {
		if _, err := br.Discard(3 << (hdr[10]&7 + 1)); err != nil {
			return g, errGIF
		}
	}
	skipBlocks := func() error {
		for {
			n, err := br.ReadByte()
			if err != nil {
				return errGIF
			}
			if n == 0 {
				return nil
			}
			if _, err := br.Discard(int(n)); err != nil {
				return errGIF
			}
		}
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return g, errGIF // no trailer: truncated
		}
		switch b {
		case 0x3b:
			return g, nil
		case 0x21:
			label, err := br.ReadByte()
			if err != nil {
				return g, errGIF
			}
			if label == 0xf9 { // graphic control: the frame's delay
				gce := make([]byte, 6)
				if _, err := io.ReadFull(br, gce); err != nil || gce[0] != 4 {
					return g, errGIF
				}
				g.Seconds += float64(binary.LittleEndian.Uint16(gce[2:])) / 100
				if gce[5] != 0 {
					return g, errGIF
				}
				continue
			}
			if err := skipBlocks(); err != nil {
				return g, err
			}
		case 0x2c:
			d := make([]byte, 9)
			if _, err := io.ReadFull(br, d); err != nil {
				return g, errGIF
			}
			w, h := int64(binary.LittleEndian.Uint16(d[4:])), int64(binary.LittleEndian.Uint16(d[6:]))
			g.Frames++
			g.Pixels += w * h
			if g.Frames > maxFrames {
				return g, nil // the caller refuses by the count
			}
			if d[8]&0x80 != 0 {
				if _, err := br.Discard(3 << (d[8]&7 + 1)); err != nil {
					return g, errGIF
				}
			}
			if _, err := br.ReadByte(); err != nil { // LZW minimum code size
				return g, errGIF
			}
			if err := skipBlocks(); err != nil {
				return g, err
			}
		default:
			return g, errGIF
		}
	}
}
