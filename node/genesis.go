package node

import (
	"encoding/json"

	"github.com/datadragon/datadragon/app"
)

// AppState returns a genesis app state builder for InitHomes: the members
// as equal validators, the default threshold (more than half of the total
// voting power) and dispute window, and the given streams.
func AppState(streams []app.Stream) func([]Member) (json.RawMessage, error) {
	return func(members []Member) (json.RawMessage, error) {
		gs := app.GenesisState{
			Threshold:     app.Threshold{Numerator: 1, Denominator: 2},
			DisputeWindow: 30,
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
