using EmbeddedVectors.Samples.PackageSearch;

return await PackageSearchApp.RunAsync(args, Console.In, Console.Out, Console.Error);
