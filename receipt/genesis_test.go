package receipt

import (
	"crypto/rand"
	"reflect"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
)

// TestBrowserCopiesAgree: the genesis reader and app hash the browser
// verifier uses (genesis.go) agree with the app's on every fixture.
func TestBrowserCopiesAgree(t *testing.T) {
	for _, p := range []string{"testdata/genesis.json", "testdata/push/genesis.json", "ddr/testdata/file/genesis.json"} {
		g, err := cmttypes.GenesisDocFromFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := trustedGenesis(g.AppState)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseGenesisSet(g.AppState)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the browser's reading differs from the app's:\n%+v\n%+v", p, got, want)
		}
	}
	for _, bad := range []string{"", "{}", `{"validators":[]}`, `{"threshold":{"numerator":1,"denominator":3},"validators":[{}]}`} {
		if _, err := parseGenesisSet([]byte(bad)); err == nil {
			t.Errorf("%q read as a genesis", bad)
		}
	}
	var prev, rr, cs [32]byte
	rand.Read(prev[:])
	rand.Read(rr[:])
	rand.Read(cs[:])
	if a, b := appHashCopy(prev[:], 77, rr, cs), app.AppHash(prev[:], 77, rr, cs); string(a) != string(b) {
		t.Errorf("app hash %x, the app's %x", a, b)
	}
}
