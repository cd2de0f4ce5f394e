export function App() { return <main>Spyglass</main>; }
