using BenchmarkDotNet.Running;

// "store <subcommand> ...": the Stopwatch benchmarks of the on-disk store (Store/); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "store") return EmbeddedVectors.Benchmarks.Store.StoreBench.Run(args[1..]);
// "usearch": side by side with USearch's HNSW; "plot": recall-vs-QPS PNG from benchmark JSON files.
if (args.Length > 0 && args[0] == "usearch") return EmbeddedVectors.Benchmarks.Compare.UsearchComparison.Run(args[1..]);
if (args.Length > 0 && args[0] == "profile-ivfpq") return EmbeddedVectors.Benchmarks.Compare.IvfPqProfile.Run(args[1..]);
if (args.Length > 0 && args[0] == "scaled") return EmbeddedVectors.Benchmarks.Compare.ScaledDataset.Run(args[1..]);
if (args.Length > 0 && args[0] == "coarse") return EmbeddedVectors.Benchmarks.Compare.CoarseGraphBench.Run(args[1..]);
// "embed": text embedding throughput of the local MiniLM model (docs/benchmarks-embeddings.md).
if (args.Length > 0 && args[0] == "embed") return EmbeddedVectors.Benchmarks.Compare.EmbeddingThroughput.Run(args[1..]);
if (args.Length > 0 && args[0] == "plot") return EmbeddedVectors.Benchmarks.Compare.RecallQpsPlot.Run(args[1..]);

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
