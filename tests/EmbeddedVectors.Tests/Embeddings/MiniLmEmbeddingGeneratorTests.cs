using System.Numerics.Tensors;
using System.Text.Json;
using EmbeddedVectors.Embeddings;
using EmbeddedVectors.IO;
using Microsoft.Extensions.AI;

namespace EmbeddedVectors.Tests.Embeddings;

/// <summary>One model for the whole class: loading it takes a second or two.</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmEmbeddingGenerator Generator { get; } = new();

    public void Dispose() => Generator.Dispose();
}

public sealed class MiniLmEmbeddingGeneratorTests(MiniLmFixture model) : IClassFixture<MiniLmFixture>
{
    private const int SampleRows = 24;

    private static readonly string[] Sentences =
    [
        "The cat sits on the mat.",
        "A kitten is resting on the rug.",
        "Stock markets fell sharply after the interest rate decision.",
        "How do I compress a folder into a zip archive?",
        "Command-line tool to create and extract ZIP files.",
        "",
    ];

    [Fact]
    public void Vectors_are_unit_length_and_the_same_for_the_same_text_in_any_batch()
    {
        var generator = model.Generator;
        var all = new float[Sentences.Length * MiniLmEmbeddingGenerator.Dimension];
        generator.Embed(Sentences, all);
        for (int i = 0; i < Sentences.Length; i++)
        {
            var row = Row(all, i);
            Assert.Equal(1.0, Math.Sqrt(TensorPrimitives.SumOfSquares(row)), 5);
            // Alone, and in a batch of another order, the text gets the same vector.
            Assert.Equal(row.ToArray(), generator.Embed(Sentences[i]));
        }
        var reversed = Sentences.Reverse().ToArray();
        var again = new float[all.Length];
        generator.Embed(reversed, again);
        for (int i = 0; i < Sentences.Length; i++) Assert.Equal(Row(all, i).ToArray(), Row(again, Sentences.Length - 1 - i).ToArray());
    }

    [Fact]
    public void A_paraphrase_is_nearer_than_an_unrelated_sentence()
    {
        var generator = model.Generator;
        float[] cat = generator.Embed(Sentences[0]), kitten = generator.Embed(Sentences[1]), stocks = generator.Embed(Sentences[2]);
        float[] question = generator.Embed(Sentences[3]), zipTool = generator.Embed(Sentences[4]);
        Assert.True(Cosine(cat, kitten) > 0.5, $"cat/kitten {Cosine(cat, kitten)}");
        Assert.True(Cosine(cat, kitten) > Cosine(cat, stocks) + 0.3, $"cat/kitten {Cosine(cat, kitten)}, cat/stocks {Cosine(cat, stocks)}");
        Assert.True(Cosine(question, zipTool) > Cosine(question, stocks) + 0.3, $"zip {Cosine(question, zipTool)}, stocks {Cosine(question, stocks)}");
    }

    /// <summary>
    /// The shipped sample's vectors were made with this model over the same texts (the payloads' "text"), so our
    /// vector for a text must be that row: the embedding is the model's, not merely something like it.
    /// </summary>
    [Fact]
    public void Vectors_match_the_shipped_sample_made_with_the_same_model()
    {
        string sample = TestData.Sample();
        var expected = VectorFile.ReadAllFloats(Path.Combine(sample, "base.fvecs"), out int dimension, SampleRows);
        Assert.Equal(MiniLmEmbeddingGenerator.Dimension, dimension);
        var texts = File.ReadLines(Path.Combine(sample, "payloads.jsonl")).Take(SampleRows)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!).ToArray();
        var actual = new float[expected.Length];
        model.Generator.Embed(texts, actual);
        for (int i = 0; i < SampleRows; i++)
            Assert.True(Cosine(Row(actual, i), Row(expected, i)) > 0.9999, $"row {i}: cosine {Cosine(Row(actual, i), Row(expected, i))}");
    }

    [Fact]
    public async Task GenerateAsync_returns_one_embedding_a_text_in_order_with_metadata()
    {
        IEmbeddingGenerator<string, Embedding<float>> generator = model.Generator;
        var embeddings = await generator.GenerateAsync(Sentences[..3]);
        Assert.Equal(3, embeddings.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(MiniLmEmbeddingGenerator.Dimension, embeddings[i].Vector.Length);
            Assert.Equal(model.Generator.Embed(Sentences[i]), embeddings[i].Vector.ToArray());
            Assert.Equal(MiniLmEmbeddingGenerator.ModelName, embeddings[i].ModelId);
        }
        var metadata = generator.GetService<EmbeddingGeneratorMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal(MiniLmEmbeddingGenerator.Dimension, metadata.DefaultModelDimensions);
        Assert.Equal(MiniLmEmbeddingGenerator.ModelName, metadata.DefaultModelId);
        Assert.Same(model.Generator, generator.GetService<MiniLmEmbeddingGenerator>());
        Assert.Empty(await generator.GenerateAsync([]));
    }

    [Fact]
    public async Task Bad_input_gets_a_clear_error()
    {
        var generator = model.Generator;
        var wrongDimension = await Assert.ThrowsAsync<NotSupportedException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 128 }));
        Assert.Contains("128", wrongDimension.Message);
        var nullText = Assert.Throws<ArgumentException>(() => generator.Embed(["a", null!], new float[2 * MiniLmEmbeddingGenerator.Dimension]));
        Assert.Contains("Text 1 is null", nullText.Message);
        var shortDestination = Assert.Throws<ArgumentException>(() => generator.Embed(["a", "b"], new float[MiniLmEmbeddingGenerator.Dimension]));
        Assert.Contains("768", shortDestination.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { BatchSize = 0 }));
    }

    [Fact]
    public void Texts_longer_than_the_model_input_are_cut_to_it()
    {
        string longText = string.Join(' ', Enumerable.Range(0, 2000).Select(i => $"word{i % 50}"));
        var vector = model.Generator.Embed(longText);
        Assert.Equal(1.0, Math.Sqrt(TensorPrimitives.SumOfSquares(vector)), 5);
        Assert.Equal(vector, model.Generator.Embed(longText + " and a different ending about stock markets"));
    }

    [Fact]
    public void Calls_from_several_threads_get_the_same_vectors_as_calls_made_one_at_a_time()
    {
        var generator = model.Generator;
        var expected = Sentences.Select(generator.Embed).ToArray();
        var results = new float[4][][];
        Parallel.For(0, results.Length, t => results[t] = Sentences.Select(generator.Embed).ToArray());
        foreach (var result in results)
            for (int i = 0; i < Sentences.Length; i++) Assert.Equal(expected[i], result[i]);
    }

    private static ReadOnlySpan<float> Row(float[] all, int i) => all.AsSpan(i * MiniLmEmbeddingGenerator.Dimension, MiniLmEmbeddingGenerator.Dimension);

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.CosineSimilarity(a, b);
}
