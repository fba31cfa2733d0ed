package registry_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// FuzzDecode: Decode never panics, fails only with a *ParseError (at a real position) or a
// *ValidationError, and what it accepts survives Encode and Decode unchanged. Seeds are in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := registry.Decode(data)
		if err != nil {
			if c != nil {
				t.Fatalf("config returned with error %v", err)
			}
			var pe *registry.ParseError
			var ve *registry.ValidationError
			switch {
			case errors.As(err, &pe):
				if pe.Line < 1 || pe.Column < 1 || pe.Line > bytes.Count(data, []byte{'\n'})+1 {
					t.Fatalf("position %d:%d out of the input", pe.Line, pe.Column)
				}
			case errors.As(err, &ve):
				if len(ve.Problems) == 0 {
					t.Fatal("a ValidationError without problems")
				}
			default:
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Decode accepted an invalid config: %v", err)
		}
		out, err := registry.Encode(*c)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		c2, err := registry.Decode(out)
		if err != nil {
			t.Fatalf("decoding the encoded config: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config:\nfirst  %#v\nsecond %#v", c, c2)
		}
		out2, err := registry.Encode(*c2)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", out, out2)
		}
	})
}
