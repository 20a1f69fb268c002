"""`wamli:stateful`: an actor holding immutable state, and a provider that pulls it."""
