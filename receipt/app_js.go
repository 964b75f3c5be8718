//go:build js

package receipt

// HexBytes is a byte string written in JSON as lowercase hex.
type HexBytes = hexBytes

// PubKey is a CometBFT consensus public key, {"type", "value"}.
type PubKey = pubKey

func trustedGenesis(appState []byte) (*genesisSet, error) { return parseGenesisSet(appState) }

func appHash(prev []byte, height int64, recordRoot, changeset [32]byte) []byte {
	return appHashCopy(prev, height, recordRoot, changeset)
}
