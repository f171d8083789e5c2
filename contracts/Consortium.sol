// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Consortium
/// @notice Registry of the consortium: its member organisations (with their public encryption
/// key and peer endpoint), its auditors, its preprocessing services and the field moduli that
/// sessions may use. Only the admin, the deployer, registers members and allows moduli.
/// @dev An address holds at most one role: org, auditor or preprocessing service (or none);
/// registrations and allowed moduli are permanent.
contract Consortium {
    struct Org {
        string name;
        bytes32 encryptionKey;
        string endpoint;
    }

    /// @notice The consortium admin: the account that deployed this contract.
    address public immutable admin;

    /// @notice The consortium's session manager, so an auditor needs this address only.
    address public sessionManager;

    mapping(address account => Org) private _orgs;
    mapping(address account => bool) private _isOrg;
    mapping(address account => bool) private _isAuditor;
    mapping(address account => bool) private _isService;
    mapping(uint256 modulus => bool) private _allowedModulus;
    address[] private _orgList;

    /// @notice The smallest modulus `allowModulus` accepts (a field below 2^64 leaves no room
    /// for 40-bit statistical masking of comparisons).
    uint256 public constant MIN_MODULUS = 2 ** 64;

    /// @notice The caller is not the admin.
    error NotAdmin(address caller);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice The account is already registered as an org, an auditor or a service.
    error AlreadyRegistered(address account);
    /// @notice A required field is empty (or a zero key).
    error EmptyField(string field);
    /// @notice The account is not a registered org.
    error UnknownOrg(address org);
    /// @notice The session manager is already set; it cannot be replaced.
    error SessionManagerAlreadySet(address current);
    /// @notice `orgAt` was called with an index past the end of the org list.
    error IndexOutOfRange(uint256 index, uint256 count);
    /// @notice The modulus is even or below `MIN_MODULUS`, so it cannot be an allowed prime.
    error InvalidModulus(uint256 modulus);
    /// @notice The modulus is already on the allow-list.
    error ModulusAlreadyAllowed(uint256 modulus);

    /// @notice An organisation was registered.
    event OrgRegistered(address indexed org, string name, bytes32 encryptionKey, string endpoint);
    /// @notice An auditor was registered.
    event AuditorRegistered(address indexed auditor);
    /// @notice A preprocessing service was registered.
    event ServiceRegistered(address indexed service, string name);
    /// @notice A field modulus was added to the allow-list.
    event ModulusAllowed(uint256 modulus);
    /// @notice The session manager was linked to this registry.
    event SessionManagerSet(address indexed manager);

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    constructor() {
        admin = msg.sender;
    }

    /// @notice Registers an organisation. Admin only.
    /// @param org The organisation's Ethereum address.
    /// @param name A human-readable name; must not be empty.
    /// @param encryptionKey The org's public key for encrypted preprocessing material; nonzero.
    /// @param endpoint The org's peer endpoint (for example `host:port`); must not be empty.
    function registerOrg(
        address org,
        string calldata name,
        bytes32 encryptionKey,
        string calldata endpoint
    ) external onlyAdmin {
        _checkNewAccount(org);
        if (bytes(name).length == 0) revert EmptyField("name");
        if (encryptionKey == bytes32(0)) revert EmptyField("encryptionKey");
        if (bytes(endpoint).length == 0) revert EmptyField("endpoint");

        _isOrg[org] = true;
        _orgs[org] = Org({name: name, encryptionKey: encryptionKey, endpoint: endpoint});
        _orgList.push(org);
        emit OrgRegistered(org, name, encryptionKey, endpoint);
    }

    /// @notice Links the consortium's session manager, once. Admin only.
    /// @param manager The SessionManager contract's address; nonzero.
    function setSessionManager(address manager) external onlyAdmin {
        if (manager == address(0)) revert ZeroAddress();
        if (sessionManager != address(0)) revert SessionManagerAlreadySet(sessionManager);

        sessionManager = manager;
        emit SessionManagerSet(manager);
    }

    /// @notice Registers an auditor. Admin only.
    /// @param auditor The auditor's Ethereum address.
    function registerAuditor(address auditor) external onlyAdmin {
        _checkNewAccount(auditor);

        _isAuditor[auditor] = true;
        emit AuditorRegistered(auditor);
    }

    /// @notice Registers a preprocessing service (the off-chain dealer of a session's
    /// material). Admin only. A service can be named as a session's preprocessor; it holds no
    /// other role, so it is never a participant.
    /// @param service The service's Ethereum address.
    /// @param name A human-readable name; must not be empty.
    function registerService(address service, string calldata name) external onlyAdmin {
        _checkNewAccount(service);
        if (bytes(name).length == 0) revert EmptyField("name");

        _isService[service] = true;
        emit ServiceRegistered(service, name);
    }

    /// @notice Adds a field modulus to the allow-list sessions draw from. Admin only. Not
    /// idempotent: allowing a modulus twice reverts `ModulusAlreadyAllowed`.
    /// @dev The contract checks only that the modulus is odd and at least `MIN_MODULUS`; it
    /// does not (and cannot cheaply) check primality. It trusts the admin's list; primality is
    /// checked off-chain by every participant and the auditor against their own fixed table of
    /// primes (PROTOCOLS.md, "Session parameters") before they accept or pass a session.
    /// @param modulus The modulus: odd and at least 2^64.
    function allowModulus(uint256 modulus) external onlyAdmin {
        if (modulus % 2 == 0 || modulus < MIN_MODULUS) revert InvalidModulus(modulus);
        if (_allowedModulus[modulus]) revert ModulusAlreadyAllowed(modulus);

        _allowedModulus[modulus] = true;
        emit ModulusAllowed(modulus);
    }

    /// @notice Whether `account` is a registered organisation.
    /// @param account The address to look up.
    /// @return True if `account` is a registered org.
    function isOrg(address account) external view returns (bool) {
        return _isOrg[account];
    }

    /// @notice Whether `account` is a registered auditor.
    /// @param account The address to look up.
    /// @return True if `account` is a registered auditor.
    function isAuditor(address account) external view returns (bool) {
        return _isAuditor[account];
    }

    /// @notice Whether `account` is a registered preprocessing service.
    /// @param account The address to look up.
    /// @return True if `account` is a registered service.
    function isService(address account) external view returns (bool) {
        return _isService[account];
    }

    /// @notice Whether `modulus` is on the admin's allow-list (see `allowModulus`).
    /// @param modulus The modulus to look up.
    /// @return True if sessions may use `modulus`.
    function isAllowedModulus(uint256 modulus) external view returns (bool) {
        return _allowedModulus[modulus];
    }

    /// @notice The registration data of an organisation; reverts `UnknownOrg` if not an org.
    /// @param org The organisation's address.
    /// @return name The org's name.
    /// @return encryptionKey The org's public encryption key.
    /// @return endpoint The org's peer endpoint.
    function orgInfo(
        address org
    ) external view returns (string memory name, bytes32 encryptionKey, string memory endpoint) {
        if (!_isOrg[org]) revert UnknownOrg(org);
        Org storage o = _orgs[org];
        return (o.name, o.encryptionKey, o.endpoint);
    }

    /// @notice The number of registered organisations.
    /// @return The org count.
    function orgCount() external view returns (uint256) {
        return _orgList.length;
    }

    /// @notice The `i`-th registered organisation, in registration order.
    /// @param i Index, below `orgCount()`.
    /// @return The org's address.
    function orgAt(uint256 i) external view returns (address) {
        if (i >= _orgList.length) revert IndexOutOfRange(i, _orgList.length);
        return _orgList[i];
    }

    /// @dev Reverts unless `account` is nonzero and holds no role yet (one role per address).
    function _checkNewAccount(address account) private view {
        if (account == address(0)) revert ZeroAddress();
        if (_isOrg[account] || _isAuditor[account] || _isService[account]) {
            revert AlreadyRegistered(account);
        }
    }
}
