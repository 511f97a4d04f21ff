using System.Collections;
using System.Linq.Expressions;
using System.Reflection;
using Microsoft.Extensions.VectorData.ProviderServices;
using Microsoft.Extensions.VectorData.ProviderServices.Filter;

namespace EmbeddedVectors.VectorData;

/// <summary>
/// Translates a LINQ filter over records into the store's <see cref="Filter"/>: <c>==, !=, &lt;, &lt;=, &gt;, &gt;=</c>
/// between a property and a value, <c>&amp;&amp;, ||, !</c>, a bool property alone, <c>== null</c> / <c>!= null</c>,
/// <c>Contains</c> on a tags property or on a captured array or list of values, and <c>tags.Any(t =&gt; values.Contains(t))</c>.
/// Captured variables and their members are evaluated first (by the abstraction's preprocessing). Anything else is a
/// <see cref="NotSupportedException"/> naming the construct. C# null semantics are kept: <c>x != v</c> is
/// <c>!(x == v)</c>, so it includes records where x is null, as it does in LINQ to objects.
/// </summary>
internal sealed class FilterTranslator(CollectionSchema schema) : FilterTranslatorBase
{
    /// <summary>A filter matching nothing (a constant false).</summary>
    private static readonly Filter Never = Filter.Id([]);

    /// <summary>The store filter, or null when the filter is constantly true.</summary>
    public Filter? Translate(LambdaExpression filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var body = PreprocessFilter(filter, schema.Model, new FilterPreprocessingOptions());
        return Node(body);
    }

    private Filter? Node(Expression node) => node switch
    {
        BinaryExpression { NodeType: ExpressionType.AndAlso } and => And(Node(and.Left), Node(and.Right)),
        BinaryExpression { NodeType: ExpressionType.OrElse } or => Or(Node(or.Left), Node(or.Right)),
        UnaryExpression { NodeType: ExpressionType.Not } not => Not(Node(not.Operand)),
        BinaryExpression { NodeType: ExpressionType.Equal or ExpressionType.NotEqual or ExpressionType.LessThan or ExpressionType.LessThanOrEqual
            or ExpressionType.GreaterThan or ExpressionType.GreaterThanOrEqual } comparison => Comparison(comparison),
        ConstantExpression { Value: bool constant } => constant ? null : Never,
        MethodCallExpression call => Call(call),
        _ when node.Type == typeof(bool) && TryBindProperty(Unwrap(node), out var property) => Compare(property!, ExpressionType.Equal, true, node),
        _ => throw Unsupported(node),
    };

    private static Filter? And(Filter? left, Filter? right) => left == null ? right : right == null ? left : left & right;

    private static Filter? Or(Filter? left, Filter? right) => left == null || right == null ? null : left | right;

    private static Filter? Not(Filter? operand) => operand == null ? Never : ReferenceEquals(operand, Never) ? null : !operand;

    private Filter? Comparison(BinaryExpression comparison)
    {
        var op = comparison.NodeType;
        if (TryBindProperty(Unwrap(comparison.Left), out var property) && TryValue(comparison.Right, out var value))
            return Compare(property!, op, value, comparison);
        if (TryBindProperty(Unwrap(comparison.Right), out property) && TryValue(comparison.Left, out value))
            return Compare(property!, Mirror(op), value, comparison);
        throw Unsupported(comparison, "a comparison needs a record property on one side and a constant or captured value on the other");
    }

    private Filter Compare(PropertyModel property, ExpressionType op, object? value, Expression source)
    {
        if (property == schema.Key && !schema.KeyIsHashed) return CompareId(op, value, source);
        var field = FieldFor(property, source);
        if (value == null)
        {
            return op switch
            {
                ExpressionType.Equal => Filter.Field(field.Name).IsNull(),
                ExpressionType.NotEqual => Filter.Field(field.Name).IsNotNull(),
                _ => throw Unsupported(source, "only == and != compare with null"),
            };
        }
        if (field.Type == FieldType.Tags) throw Unsupported(source, $"'{property.ModelName}' is a collection; test it with Contains");
        var stored = FieldValueConversion.ToFieldValue(field, value);
        var f = Filter.Field(field.Name);
        return op switch
        {
            ExpressionType.Equal => f.Compare(FilterOperator.Equal, stored),
            // LINQ's x != v is true when x is null; the store's != is false there, so take the complement of ==.
            ExpressionType.NotEqual => !f.Compare(FilterOperator.Equal, stored),
            ExpressionType.LessThan => f.Compare(FilterOperator.Less, stored),
            ExpressionType.LessThanOrEqual => f.Compare(FilterOperator.LessOrEqual, stored),
            ExpressionType.GreaterThan => f.Compare(FilterOperator.Greater, stored),
            _ => f.Compare(FilterOperator.GreaterOrEqual, stored),
        };
    }

    /// <summary>long and int keys are the store's ids: compare the id itself.</summary>
    private static Filter CompareId(ExpressionType op, object? value, Expression source)
    {
        if (value is not (long or int)) throw Unsupported(source, "an integer key compares with an integer");
        long key = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
        return op switch
        {
            ExpressionType.Equal => Filter.Id(key),
            ExpressionType.NotEqual => !Filter.Id(key),
            ExpressionType.LessThan => Filter.Id(FilterOperator.Less, key),
            ExpressionType.LessThanOrEqual => Filter.Id(FilterOperator.LessOrEqual, key),
            ExpressionType.GreaterThan => Filter.Id(FilterOperator.Greater, key),
            _ => Filter.Id(FilterOperator.GreaterOrEqual, key),
        };
    }

    private Filter Call(MethodCallExpression call)
    {
        if (TryMatchContains(call, out var source, out var item))
        {
            // tags.Contains("x"): a tags field holding the value.
            if (TryBindProperty(Unwrap(source), out var collection) && TryValue(item, out var tag))
            {
                var field = FieldFor(collection!, call);
                if (field.Type != FieldType.Tags) throw Unsupported(call, $"'{collection!.ModelName}' is not a collection of strings");
                return tag is string text ? Filter.Tags(field.Name).Contains(text) : throw Unsupported(call, "tags are strings");
            }
            // values.Contains(r.Property): the property is one of the captured values.
            if (TryValue(source, out var values) && TryBindProperty(Unwrap(item), out var property))
                return In(property!, values as IEnumerable ?? throw Unsupported(call, "Contains needs a collection"), call);
        }
        // tags.Any(t => values.Contains(t)): the tags field holds any of the values.
        if (call.Method.DeclaringType == typeof(Enumerable) && call.Method.Name == nameof(Enumerable.Any) && call.Arguments.Count == 2
            && TryBindProperty(Unwrap(call.Arguments[0]), out var tags)
            && call.Arguments[1] is LambdaExpression { Body: MethodCallExpression inner } lambda
            && TryMatchContains(inner, out var innerSource, out var innerItem) && innerItem == lambda.Parameters[0]
            && TryValue(innerSource, out var anyOf) && anyOf is IEnumerable anyValues)
        {
            var field = FieldFor(tags!, call);
            if (field.Type != FieldType.Tags) throw Unsupported(call, $"'{tags!.ModelName}' is not a collection of strings");
            var list = new List<string>();
            foreach (var value in anyValues) list.Add(value as string ?? throw Unsupported(call, "tags are non-null strings"));
            return list.Count == 0 ? Never : Filter.Tags(field.Name).ContainsAny([.. list]);
        }
        throw Unsupported(call);
    }

    private Filter In(PropertyModel property, IEnumerable values, Expression source)
    {
        if (property == schema.Key && !schema.KeyIsHashed)
        {
            var ids = new List<long>();
            foreach (var value in values) ids.Add(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
            return Filter.Id([.. ids]);
        }
        var field = FieldFor(property, source);
        var stored = new List<object>();
        bool includesNull = false;
        foreach (var value in values)
        {
            if (value == null) includesNull = true;
            else stored.Add(FieldValueConversion.ToFieldValue(field, value));
        }
        var filter = Filter.Field(field.Name).In([.. stored]);
        return includesNull ? filter | Filter.Field(field.Name).IsNull() : filter;
    }

    private FieldDefinition FieldFor(PropertyModel property, Expression source)
    {
        if (property == schema.Key) return new FieldDefinition(CollectionSchema.KeyFieldName, FieldType.String);
        if (property is VectorPropertyModel) throw Unsupported(source, $"'{property.ModelName}' is the vector property");
        return schema.FieldOf(property) ?? throw new NotSupportedException(
            $"The filter uses data property '{property.ModelName}', which is not indexed; mark it [VectorStoreData(IsIndexed = true)] (or IsIndexed in the definition) when the collection is created to filter on it.");
    }

    /// <summary>A value known before the search: a constant, or a captured variable or member the preprocessing evaluated.</summary>
    private static bool TryValue(Expression expression, out object? value)
    {
        switch (Unwrap(expression))
        {
            case ConstantExpression constant:
                value = constant.Value;
                return true;
            case QueryParameterExpression parameter:
                value = parameter.Value;
                return true;
            case MemberExpression { Expression: ConstantExpression owner, Member: var member }:
                value = member switch
                {
                    FieldInfo f => f.GetValue(owner.Value),
                    PropertyInfo p => p.GetValue(owner.Value),
                    _ => null,
                };
                return member is FieldInfo or PropertyInfo;
            case NewArrayExpression { NodeType: ExpressionType.NewArrayInit } array:
                var items = new List<object?>();
                foreach (var element in array.Expressions)
                {
                    if (!TryValue(element, out var item)) { value = null; return false; }
                    items.Add(item);
                }
                value = items;
                return true;
            case var other when !ParameterFinder.Uses(other):
                // Anything else that does not read the record (an array element, a method call on captured values)
                // is evaluated once, here, by the expression interpreter.
                value = Expression.Lambda(Expression.Convert(other, typeof(object))).Compile(preferInterpretation: true).DynamicInvoke();
                return true;
            default:
                value = null;
                return false;
        }
    }

    /// <summary>Whether an expression reads a parameter (the record, or a lambda's own parameter): then it is no value.</summary>
    private sealed class ParameterFinder : ExpressionVisitor
    {
        private bool _found;

        public static bool Uses(Expression expression)
        {
            var finder = new ParameterFinder();
            finder.Visit(expression);
            return finder._found;
        }

        protected override Expression VisitParameter(ParameterExpression node)
        {
            _found = true;
            return node;
        }

        protected override Expression VisitExtension(Expression node) => node; // QueryParameterExpression: a value
    }

    /// <summary>Drops conversions the compiler inserts (int → long?, a property to object).</summary>
    private static Expression Unwrap(Expression expression)
    {
        while (expression is UnaryExpression { NodeType: ExpressionType.Convert or ExpressionType.ConvertChecked or ExpressionType.TypeAs } convert)
            expression = convert.Operand;
        return expression;
    }

    private static ExpressionType Mirror(ExpressionType op) => op switch
    {
        ExpressionType.LessThan => ExpressionType.GreaterThan,
        ExpressionType.LessThanOrEqual => ExpressionType.GreaterThanOrEqual,
        ExpressionType.GreaterThan => ExpressionType.LessThan,
        ExpressionType.GreaterThanOrEqual => ExpressionType.LessThanOrEqual,
        _ => op,
    };

    private static NotSupportedException Unsupported(Expression node, string? why = null) => new(
        $"EmbeddedVectors cannot translate the filter construct '{node}' ({node.NodeType}){(why == null ? "" : ": " + why)}. Supported: ==, !=, <, <=, >, >= between a property and a value, &&, ||, !, == null, Contains on tags or on a captured collection, tags.Any(t => values.Contains(t)).");
}
