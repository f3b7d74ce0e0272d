import BeaconCore

/// A JSON body written as YAML whose texts are templates, for webhooks:
///
///     body:
///       text: "Order of {{properties.total}} from {{enrichment.geo.city | \"somewhere\"}}"
///       total: "{{properties.total}}"     # a lone placeholder keeps the value's JSON type
///       source: beacon
///
/// Escaping is the writer's job, so values with quotes or newlines cannot break
/// the JSON. A lone placeholder whose value is missing gives its default, or null.
public indirect enum JSONTemplate: Sendable, Equatable {
    case literal(JSONValue)
    case text(Template)
    case field(EventPath, fallback: JSONValue?)
    case array([JSONTemplate])
    case object([JSONTemplateMember])

    public func render(_ event: JSONValue) -> JSONValue {
        switch self {
        case .literal(let value): return value
        case .text(let template): return .string(template.render(event))
        case .field(let path, let fallback):
            if let value = path.resolve(in: event), value != .null, value != .string("") { return value }
            return fallback ?? .null
        case .array(let elements): return .array(elements.map { $0.render(event) })
        case .object(let members):
            return .object(JSONObject(members.map { (key: $0.key, value: $0.value.render(event)) }))
        }
    }

    static func parse(_ field: YAMLField) throws(RulesFileError) -> JSONTemplate {
        switch field.node {
        case .scalar:
            let value = try field.scalarJSON()
            guard case .string = value else { return .literal(value) }
            let template = try field.template()
            if template.isConstant { return .literal(value) }
            if let single = template.singleField { return .field(single.path, fallback: single.fallback) }
            return .text(template)
        case .sequence:
            var elements: [JSONTemplate] = []
            for item in try field.sequence() { elements.append(try parse(item)) }
            return .array(elements)
        case .mapping:
            var members: [JSONTemplateMember] = []
            for (key, value) in try field.entries() { members.append(JSONTemplateMember(key: key, value: try parse(value))) }
            return .object(members)
        case .alias:
            throw field.error("unexpected alias")
        }
    }
}

public struct JSONTemplateMember: Sendable, Equatable {
    public let key: String
    public let value: JSONTemplate
}
