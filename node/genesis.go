package node

import (
	"encoding/json"

	"github.com/datadragon/datadragon/app"
)

// DefaultDisputeWindow is W, in blocks: a chunk without a majority within
// W blocks is disputed, and a decided one settles W blocks later.
const DefaultDisputeWindow = 30

// AppState returns a genesis app state builder for InitHomes: the members
// as equal validators, the default threshold (more than half of the total
// voting power), the dispute window (0: DefaultDisputeWindow) and the
// given streams.
func AppState(streams []app.Stream, window int64) func([]Member) (json.RawMessage, error) {
	if window == 0 {
		window = DefaultDisputeWindow
	}
	return func(members []Member) (json.RawMessage, error) {
		gs := app.GenesisState{
			Threshold:     app.Threshold{Numerator: 1, Denominator: 2},
			DisputeWindow: window,
			Streams:       streams,
		}
		for _, m := range members {
			gs.Validators = append(gs.Validators, app.GenesisValidator{
				Name:        m.Name,
				PubKey:      app.PubKey{Type: "ed25519", Value: m.CometPub.Bytes()},
				ZiggyPubKey: app.HexBytes(m.ZiggyPub.Bytes()),
				Power:       m.Power,
			})
		}
		if err := gs.Validate(); err != nil {
			return nil, err
		}
		return json.Marshal(&gs)
	}
}
