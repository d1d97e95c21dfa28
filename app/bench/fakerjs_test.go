package bench

import (
	"context"
	"errors"
	"testing"
)

// TestFakerJS measures a few records when node and @faker-js/faker are
// here, and otherwise checks the reason is the one the bench prints.
func TestFakerJS(t *testing.T) {
	perS, err := fakerJSPerS(context.Background(), 2000)
	if errors.Is(err, errNoFaker) {
		t.Skip(err)
	}
	if err != nil || perS <= 0 {
		t.Fatalf("fakerJSPerS = %g, %v", perS, err)
	}
	t.Logf("faker-js: %.0f records/s", perS)
}
