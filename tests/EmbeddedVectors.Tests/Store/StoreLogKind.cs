using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Tests.Store;

/// <summary>Which payload log a store test runs on.</summary>
public enum LogKind
{
    /// <summary>The FASTER log in the store's <c>log/</c> directory, as in production.</summary>
    Faster,

    /// <summary>An <see cref="InMemoryPayloadLog"/>; segments, manifest and quantizers still go to disk.</summary>
    InMemory,
}

/// <summary>
/// A base for store tests that run once per <see cref="LogKind"/> (one derived class per kind): create and open
/// stores through <see cref="Create"/> and <see cref="Open"/>, which put the store on that log. With
/// <see cref="LogKind.InMemory"/> one in-memory log serves the whole test (xunit makes a class instance per test)
/// and outlives the stores, so closing and reopening a store finds its log as a directory would.
/// </summary>
public abstract class StoreLogTests
{
    private readonly InMemoryPayloadLog? _memory;

    private protected StoreLogTests(LogKind log)
    {
        Log = log;
        _memory = log == LogKind.InMemory ? new InMemoryPayloadLog() : null;
    }

    /// <summary>The log the stores of this test run on.</summary>
    protected LogKind Log { get; }

    /// <summary>The in-memory log (only with <see cref="LogKind.InMemory"/>).</summary>
    private protected InMemoryPayloadLog Memory => _memory ?? throw new InvalidOperationException("This test runs on the FASTER log.");

    protected EmbeddedVectorStore Create(string path, EmbeddedVectorStoreOptions options) => EmbeddedVectorStore.Create(path, OnLog(options));

    protected EmbeddedVectorStore Open(string path, EmbeddedVectorStoreOptions? options = null) => EmbeddedVectorStore.Open(path, OnLog(options ?? new()));

    /// <summary>
    /// <see cref="EmbeddedVectorStore.Verify"/>'s findings. It opens the store's files itself, so it can check only a
    /// store on the FASTER log; on the in-memory log it returns nothing (the log has its own contract tests).
    /// </summary>
    protected IReadOnlyList<string> Verify(string path) => Log == LogKind.Faster ? EmbeddedVectorStore.Verify(path) : [];

    private EmbeddedVectorStoreOptions OnLog(EmbeddedVectorStoreOptions options) =>
        _memory is null ? options : options with { PayloadLogFactory = _memory.Open };
}
