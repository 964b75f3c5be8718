package app

import (
	"encoding/json"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/crypto/ed25519"
	gogotypes "github.com/cosmos/gogoproto/types"

	"github.com/datadragon/datadragon/app/fakesig"
)

func validGenesis() map[string]any {
	k := ed25519.GenPrivKeyFromSecret([]byte("a")).PubKey().Bytes()
	k2 := ed25519.GenPrivKeyFromSecret([]byte("b")).PubKey().Bytes()
	z := fakesig.New()
	return map[string]any{
		"validators": []any{
			map[string]any{"name": "a", "pub_key": map[string]any{"type": "ed25519", "value": k}, "ziggy_pub_key": HexBytes(z.NewSigner("a").PublicKey()).String(), "power": 1},
			map[string]any{"name": "b", "pub_key": map[string]any{"type": "tendermint/PubKeyEd25519", "value": k2}, "ziggy_pub_key": "0x" + HexBytes(z.NewSigner("b").PublicKey()).String(), "power": 2},
		},
		"streams": []any{map[string]any{"id": "s1", "source": "ws://127.0.0.1:9/x", "chunk": map[string]any{"messages": 10}, "rules": map[string]any{"max_message_bytes": 10}}},
	}
}

func TestGenesisDefaultsAndNormalisation(t *testing.T) {
	b, _ := json.Marshal(validGenesis())
	g, err := ParseGenesisState(b)
	if err != nil {
		t.Fatal(err)
	}
	if g.Threshold != (Threshold{1, 2}) || g.DisputeWindow != DefaultDisputeWindow {
		t.Fatalf("defaults: %+v %d", g.Threshold, g.DisputeWindow)
	}
	if g.Validators[1].PubKey.Type != "ed25519" || len(g.Validators[0].Address) != 20 {
		t.Fatal("key type not normalised or address not derived")
	}
	c1, _ := g.Canonical()
	g2, err := ParseGenesisState(c1)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := g2.Canonical()
	if string(c1) != string(c2) {
		t.Fatal("canonical form is not a fixed point")
	}
}

func TestGenesisErrors(t *testing.T) {
	type m = map[string]any
	val := func(g m, i int) m { return g["validators"].([]any)[i].(m) }
	str := func(g m) m { return g["streams"].([]any)[0].(m) }
	cases := map[string]struct {
		mod  func(g m)
		want string
	}{
		"threshold below half":  {func(g m) { g["threshold"] = m{"numerator": 1, "denominator": 3} }, "below 1/2"},
		"threshold of 1":        {func(g m) { g["threshold"] = m{"numerator": 2, "denominator": 2} }, "not below 1"},
		"zero denominator":      {func(g m) { g["threshold"] = m{"numerator": 1} }, "denominator is 0"},
		"negative window":       {func(g m) { g["dispute_window"] = -1 }, "dispute_window"},
		"no validators":         {func(g m) { g["validators"] = []any{} }, "no validators"},
		"zero power":            {func(g m) { val(g, 0)["power"] = 0 }, "power 0"},
		"bad key type":          {func(g m) { val(g, 0)["pub_key"].(m)["type"] = "rsa" }, "unsupported key type"},
		"short key":             {func(g m) { val(g, 0)["pub_key"].(m)["value"] = []byte{1, 2} }, "pub_key"},
		"duplicate key":         {func(g m) { val(g, 1)["pub_key"] = val(g, 0)["pub_key"] }, "same CometBFT key"},
		"wrong address":         {func(g m) { val(g, 0)["address"] = "00112233445566778899aabbccddeeff00112233" }, "does not match"},
		"no ziggy key":          {func(g m) { delete(val(g, 0), "ziggy_pub_key") }, "no ziggy_pub_key"},
		"ziggy key not hex":     {func(g m) { val(g, 0)["ziggy_pub_key"] = "zz" }, "not hex"},
		"duplicate ziggy key":   {func(g m) { val(g, 1)["ziggy_pub_key"] = val(g, 0)["ziggy_pub_key"] }, "same ziggy_pub_key"},
		"duplicate name":        {func(g m) { val(g, 1)["name"] = "a" }, "name also used"},
		"bad stream id":         {func(g m) { str(g)["id"] = "a b" }, "only letters"},
		"duplicate stream":      {func(g m) { g["streams"] = append(g["streams"].([]any), str(g)) }, "id also used"},
		"http source":           {func(g m) { str(g)["source"] = "http://x/y" }, "ws:// or wss://"},
		"no host":               {func(g m) { str(g)["source"] = "ws:///y" }, "with a host"},
		"no chunk policy":       {func(g m) { str(g)["chunk"] = m{} }, "needs"},
		"both chunk policies":   {func(g m) { str(g)["chunk"] = m{"messages": 1, "window_ms": 5} }, "both"},
		"huge chunk":            {func(g m) { str(g)["chunk"] = m{"messages": MaxChunkMessages + 1} }, "limit"},
		"unknown field (typo)":  {func(g m) { g["dispute_windw"] = 3 }, "unknown field"},
		"unknown stream field":  {func(g m) { str(g)["chunck"] = 3 }, "unknown field"},
		"power overflow":        {func(g m) { val(g, 0)["power"] = int64(1) << 62; val(g, 1)["power"] = int64(1) << 62 }, "exceeds"},
		"negative chunk":        {func(g m) { str(g)["chunk"] = m{"messages": -1} }, "cannot unmarshal"},
		"string where a number": {func(g m) { val(g, 0)["power"] = "1" }, "cannot unmarshal"},
	}
	for name, c := range cases {
		g := validGenesis()
		c.mod(g)
		b, _ := json.Marshal(g)
		_, err := ParseGenesisState(b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, c.want)
		}
	}
	for _, bad := range []string{"", "  ", "[]", "{} {}", "{"} {
		if _, err := ParseGenesisState([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestInitChainChecks(t *testing.T) {
	n := newNet(t, netOpts{})
	fresh := func() *App {
		a, err := New(Config{Dir: t.TempDir(), Scheme: n.scheme})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	cases := map[string]struct {
		mod  func(r *abci.InitChainRequest)
		want string
	}{
		"power differs from CometBFT's":   {func(r *abci.InitChainRequest) { r.Validators[0].Power = 11 }, "has power 11"},
		"validator missing in CometBFT's": {func(r *abci.InitChainRequest) { r.Validators = r.Validators[:3] }, "same set"},
		"validator unknown to the app": {func(r *abci.InitChainRequest) {
			r.Validators[0].PubKeyBytes = ed25519.GenPrivKey().PubKey().Bytes()
		}, "not in the app_state"},
		"vote extensions off": {func(r *abci.InitChainRequest) { r.ConsensusParams.Feature = nil }, "vote extensions are off"},
		"vote extensions at 0": {func(r *abci.InitChainRequest) {
			r.ConsensusParams.Feature.VoteExtensionsEnableHeight = &gogotypes.Int64Value{Value: 0}
		}, "vote extensions are off"},
		"blocks too small": {func(r *abci.InitChainRequest) { r.ConsensusParams.Block = &cmtproto.BlockParams{MaxBytes: 100_000} }, "block limit"},
		"no chain id":      {func(r *abci.InitChainRequest) { r.ChainId = "" }, "chain id"},
		"no app state":     {func(r *abci.InitChainRequest) { r.AppStateBytes = nil }, "app_state is empty"},
		"unknown ziggy key": {func(r *abci.InitChainRequest) {
			var g GenesisState
			json.Unmarshal(r.AppStateBytes, &g)
			g.Validators[0].ZiggyPubKey = []byte{1, 2, 3}
			r.AppStateBytes, _ = json.Marshal(g)
		}, "ziggy_pub_key"},
	}
	for name, c := range cases {
		req := n.initChainRequest()
		c.mod(req)
		_, err := fresh().InitChain(ctx, req)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, c.want)
		}
	}
	// With no validators from CometBFT, the app supplies them.
	req := n.initChainRequest()
	req.Validators = nil
	resp, err := fresh().InitChain(ctx, req)
	if err != nil || len(resp.Validators) != 4 || resp.Validators[2].Power != 10 {
		t.Fatalf("%v %+v", err, resp)
	}
	// The genesis app hash is the same everywhere and depends on the chain id.
	r1, _ := fresh().InitChain(ctx, n.initChainRequest())
	req = n.initChainRequest()
	req.ChainId = "other"
	r2, _ := fresh().InitChain(ctx, req)
	if string(r1.AppHash) != string(n.vals[0].app.chain.Load().genesisAppHash) || string(r1.AppHash) == string(r2.AppHash) {
		t.Fatal("genesis app hash")
	}
	// Before InitChain: Info at height 0, readers say so, consensus calls fail.
	a := fresh()
	if info, _ := a.Info(ctx, &abci.InfoRequest{}); info.LastBlockHeight != 0 || info.LastBlockAppHash != nil {
		t.Fatal("fresh Info")
	}
	if _, err := a.Status(); err != ErrNotInitialised {
		t.Fatal(err)
	}
	if _, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 1}); err == nil {
		t.Fatal("FinalizeBlock before InitChain")
	}
	// InitChain after blocks is refused; FinalizeBlock out of order too.
	n.step()
	if _, err := n.vals[0].app.InitChain(ctx, n.initChainRequest()); err == nil {
		t.Fatal("InitChain after a block")
	}
	if _, err := n.vals[0].app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 5}); err == nil {
		t.Fatal("FinalizeBlock skipping heights")
	}
	if _, err := n.vals[0].app.Commit(ctx, &abci.CommitRequest{}); err == nil {
		t.Fatal("Commit without FinalizeBlock")
	}
	if _, err := New(Config{Dir: t.TempDir()}); err == nil {
		t.Fatal("New without a scheme")
	}
	if _, err := New(Config{Dir: n.vals[0].dir, Scheme: n.scheme}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second open of a locked store: %v", err)
	}
}
